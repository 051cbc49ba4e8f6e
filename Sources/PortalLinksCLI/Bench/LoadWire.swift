import NIOCore

/// How a load connection speaks to its server. `LoadConnectionHandler` keeps the schedule (what goes out when,
/// what is measured); a wire writes the calls and reads the answers: the binary protocol's frames
/// (`BinaryWire`) or HTTP/1.1 to the gateway (`HTTPWire`). Both run on the connection's event loop.
protocol LoadWire: SendableMetatype {
    associatedtype InboundIn
    /// Statuses below this are counted in an array on the hot path, the rest in a dictionary.
    static var statusSlots: Int { get }
    /// Handlers between the socket and the load handler.
    static func addHandlers(_ pipeline: ChannelPipeline.SynchronousOperations) throws
    /// The plan's requests: call `index` is sent as request `index % requestCount`.
    var requestCount: Int { get }
    /// Writes what goes before any call; true when its answer (call id 0) must come back first.
    mutating func greet(_ context: ChannelHandlerContext) -> Bool
    /// Queues request `index` as call `callID`.
    mutating func write(_ index: Int, callID: UInt32, _ context: ChannelHandlerContext)
    /// Hands what was queued to the channel, to be flushed.
    mutating func writeQueued(_ context: ChannelHandlerContext)
    /// Hands the answers in `data` to `answer` in turn, while it returns true; throws on a broken stream.
    mutating func read(_ data: InboundIn, _ answer: (WireAnswer) -> Bool) throws
}

/// One answer, as the load handler counts it.
struct WireAnswer {
    /// The call answered; 0 for the answer to the greeting.
    var callID: UInt32
    /// A status code of the binary protocol, or an HTTP status.
    var status: UInt16
    /// The server decided (valid, or not with a reason), rather than failed the call: a decided answer is not
    /// an error, whatever its status (forward auth answers "no" with 401).
    var decided: Bool
    /// What a decided answer said: 0 for valid, else a reason's slot (`VerifyAnswer`).
    var reason: Int
}
