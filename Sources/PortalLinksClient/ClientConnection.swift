import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksWire

/// One connection to the server, with any number of calls in flight, matched to their answers by call id.
final class ClientConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<ResponseHandler>

    private init(channel: any Channel, handler: NIOLoopBound<ResponseHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(host: String, port: Int, tls: NIOSSLContext?, serverHostname: String?, maximumPayload: Int,
                        connectTimeout: TimeAmount, group: any EventLoopGroup) async throws -> ClientConnection {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname ?? host))
                    }
                    try pipeline.addHandler(ByteToMessageHandler(FrameDecoder(side: .client, maximumPayload: maximumPayload)))
                    try pipeline.addHandler(MessageToByteHandler(FrameEncoder()))
                    try pipeline.addHandler(ResponseHandler())
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ResponseHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return ClientConnection(channel: channel, handler: handler)
    }

    var isActive: Bool { channel.isActive }

    /// Sends one request and returns the response frame, whatever its status.
    func call(_ method: MethodID, payload: [UInt8], deadlineMilliseconds: UInt32) async throws -> Frame {
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            var buffer = channel.allocator.buffer(capacity: payload.count)
            buffer.writeBytes(payload)
            handler.value.send(method, payload: buffer, deadlineMilliseconds: deadlineMilliseconds, promise: promise, on: channel)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Pairs responses with their calls. Lives on the channel's event loop.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private var pending: [UInt32: EventLoopPromise<Frame>] = [:]
    private var nextCallID: UInt32 = 1
    private var closedError: PortalLinksClientError?

    func send(_ method: MethodID, payload: ByteBuffer, deadlineMilliseconds: UInt32, promise: EventLoopPromise<Frame>,
              on channel: any Channel) {
        if let closedError {
            promise.fail(closedError)
            return
        }
        var callID = nextCallID
        while pending[callID] != nil { callID &+= 1 }
        nextCallID = callID &+ 1
        pending[callID] = promise
        channel.writeAndFlush(Frame.request(method, callID: callID, deadlineMilliseconds: deadlineMilliseconds, payload: payload),
                              promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        pending.removeValue(forKey: frame.header.callID)?.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.unavailable("the connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(.unavailable("connection error: \(PortalLinksClientError.reason(error))"))
        context.close(promise: nil)
    }

    private func failAll(_ error: PortalLinksClientError) {
        closedError = error
        let waiting = pending
        pending = [:]
        for promise in waiting.values { promise.fail(error) }
    }
}
