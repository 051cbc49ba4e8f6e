import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
@testable import PortalLinksGateway

/// The HTTP gateway's timeouts and body limit on an `EmbeddedChannel` whose clock the test moves: no
/// sockets, no sleeps.
@Suite struct ConnectionGuardTests {
    static var limits: HTTPLimits {
        var limits = HTTPLimits()
        limits.headerTimeout = .seconds(10)
        limits.requestTimeout = .seconds(20)
        limits.idleTimeout = .seconds(60)
        limits.maximumBodyBytes = 100
        return limits
    }

    /// Stands in for the HTTP decoder between the two: takes the bytes; the test hands parts to the boundaries.
    final class Decoder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }

    /// The guard in front, the request boundaries after it, as in the gateway's pipeline.
    static func channel() throws -> (EmbeddedChannel, ConnectionGuard, RequestBoundaries) {
        let channel = EmbeddedChannel()
        let connectionGuard = ConnectionGuard(limits: limits, connections: ConnectionCount())
        let boundaries = RequestBoundaries(maximumBodyBytes: limits.maximumBodyBytes)
        try channel.pipeline.syncOperations.addHandler(connectionGuard)
        try channel.pipeline.syncOperations.addHandler(Decoder())
        try channel.pipeline.syncOperations.addHandler(boundaries)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, connectionGuard, boundaries)
    }

    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "x", path: "/p"))

    @Test func aNewConnectionMustSendItsHeadersWithinTheHeaderTimeout() throws {
        let (channel, _, _) = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aSlowBodyIsClosedAtTheRequestTimeoutAndAnAnsweredConnectionAtTheIdleTimeout() throws {
        let (channel, _, boundaries) = try Self.channel()
        let context = try channel.pipeline.syncOperations.context(handler: boundaries)
        try channel.writeInbound(ByteBuffer(string: "POST"))
        boundaries.channelRead(context: context, data: NIOAny(Self.head))
        channel.embeddedEventLoop.advanceTime(by: .seconds(19))
        #expect(channel.isActive, "the body has the request timeout from the end of the headers")
        boundaries.channelRead(context: context, data: NIOAny(HTTPRequestPart.end(nil)))
        channel.embeddedEventLoop.advanceTime(by: .minutes(10))
        #expect(channel.isActive, "no timeout while the request is being answered")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive, "kept alive for the idle timeout")
        try channel.writeInbound(ByteBuffer(string: "GE"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive, "the next request's first bytes start its header timeout")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aStalledBodyIsClosed() throws {
        let (channel, _, boundaries) = try Self.channel()
        let context = try channel.pipeline.syncOperations.context(handler: boundaries)
        boundaries.channelRead(context: context, data: NIOAny(Self.head))
        for _ in 0..<4 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
            try channel.writeInbound(ByteBuffer(string: "x"))  // a byte now and then does not extend it
        }
        #expect(!channel.isActive)
    }

    @Test func bodyBytesPastTheLimitAreDroppedAndTheConnectionClosesAfterTheAnswer() throws {
        let (channel, _, boundaries) = try Self.channel()
        let context = try channel.pipeline.syncOperations.context(handler: boundaries)
        boundaries.channelRead(context: context, data: NIOAny(Self.head))
        for _ in 0..<5 { boundaries.channelRead(context: context, data: NIOAny(HTTPRequestPart.body(ByteBuffer(repeating: 0x20, count: 60)))) }
        boundaries.channelRead(context: context, data: NIOAny(HTTPRequestPart.end(nil)))
        var bodyBytes = 0
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            if case .body(let chunk) = part { bodyBytes += chunk.readableBytes }
        }
        #expect(bodyBytes == 120, "up to the chunk that passes the limit, so that the handler sees it")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .tooManyRequests)))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed once the refusal is written")
    }
}
