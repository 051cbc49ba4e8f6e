import NIOCore
import PortalLinksMessages
import PortalLinksWire

/// The binary protocol: a Hello with the API key, then the plan's frames. Like the server, it cuts answers out
/// of each read itself, so that the load generator is not what is measured.
struct BinaryWire: LoadWire {
    typealias InboundIn = ByteBuffer
    /// gRPC's codes, 0...16.
    static let statusSlots = 17

    /// The generator's requests, held here so that sending one takes no reference count.
    private let frames: RequestFrames
    private let apiKey: String
    private let decoder = FrameDecoder(side: .client)
    /// Bytes of an answer that has not fully arrived yet.
    private var unfinished: ByteBuffer?
    /// Requests gathered for one write: a pipelined batch goes out as one buffer, so that the load generator
    /// spends its time on the calls and not on per-call pipeline traversals.
    private var outgoing: ByteBuffer?

    init(frames: RequestFrames, apiKey: String) {
        self.frames = frames
        self.apiKey = apiKey
    }

    static func addHandlers(_ pipeline: ChannelPipeline.SynchronousOperations) throws {}

    var requestCount: Int { frames.count }

    mutating func greet(_ context: ChannelHandlerContext) -> Bool {
        var hello = PortalLinks_V1_HelloRequest()
        hello.apiKey = apiKey
        let payload: [UInt8] = try! hello.serializedBytes()
        if outgoing == nil { outgoing = context.channel.allocator.buffer(capacity: 4_096) }
        outgoing!.writeMultipleIntegers(FrameHeader.requestVersion, UInt8(0), MethodID.authHello.rawValue, UInt32(0), UInt32(0),
                                        UInt32(payload.count))
        outgoing!.writeBytes(payload)
        return true
    }

    mutating func write(_ index: Int, callID: UInt32, _ context: ChannelHandlerContext) {
        if outgoing == nil { outgoing = context.channel.allocator.buffer(capacity: 4_096) }
        frames.write(index, callID: callID, to: &outgoing!)
    }

    mutating func writeQueued(_ context: ChannelHandlerContext) {
        guard let buffer = outgoing else { return }
        outgoing = nil
        context.write(NIOAny(buffer), promise: nil)
    }

    mutating func read(_ data: ByteBuffer, _ answer: (WireAnswer) -> Bool) throws {
        var bytes = data
        if var earlier = unfinished {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        unfinished = nil
        var proceed = true
        try decoder.consumeFrames(from: &bytes, while: { proceed }) { header, payload in
            let decided = header.code == StatusCode.ok.rawValue
            proceed = answer(WireAnswer(callID: header.callID, status: header.code, decided: decided,
                                        reason: decided ? VerifyAnswer.reason(payload) : 0))
        }
        if bytes.readableBytes > 0 { unfinished = bytes }
    }
}
