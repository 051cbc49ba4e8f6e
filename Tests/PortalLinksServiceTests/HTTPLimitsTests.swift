import Foundation
import NIOCore
import NIOPosix
import PortalLinksTesting
import Testing
@testable import PortalLinksGateway

/// What a stranger can make the HTTP gateway hold, before any key is checked: connections, header bytes and
/// body bytes, on a live gateway. Its timeouts are tested without sockets or sleeps (ConnectionGuardTests).
@Suite(.timeLimit(.minutes(1))) struct HTTPLimitsTests {
    /// A bare connection whose answers are kept as text.
    final class Bare: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private let lock = NSLock()
        private var received = ""
        var text: String { lock.withLock { received } }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let chunk = String(buffer: unwrapInboundIn(data))
            lock.withLock { received += chunk }
        }

        static func connect(_ port: Int) async throws -> (any Channel, Bare) {
            let bare = Bare()
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bare) } }
                .connect(host: "127.0.0.1", port: port).get()
            return (channel, bare)
        }
    }

    @Test func oversizedHeadersAndBodiesAreRefusedAndTheirConnectionsClosed() async throws {
        let server = try await LiveServer.start(gateway: { $0.limits.maximumHeaderBytes = 4_096; $0.limits.maximumBodyBytes = 1_024 })
        defer { Task { await server.stop() } }
        let (big, bigAnswers) = try await Bare.connect(server.gatewayPort)
        // The server may answer and close before the whole request is written.
        try? await big.writeAndFlush(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 8_000))\r\n\r\n"))
        try await big.closeFuture.get()
        #expect(bigAnswers.text.hasPrefix("HTTP/1.1 4"), "headers over the limit: \(bigAnswers.text.prefix(40))")
        // A body over the limit, sent without a length: refused once the limit passes, then closed, however
        // much more the client sends.
        let (chunked, chunkedAnswers) = try await Bare.connect(server.gatewayPort)
        try await chunked.writeAndFlush(ByteBuffer(string: "POST /portal_links.v1.Links/Verify HTTP/1.1\r\nHost: x\r\n"
                                                   + "Authorization: Bearer \(server.verifierKey)\r\n"
                                                   + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"))
        for _ in 0..<8 { try? await chunked.writeAndFlush(ByteBuffer(string: "200\r\n" + String(repeating: " ", count: 512) + "\r\n")) }
        try? await chunked.writeAndFlush(ByteBuffer(string: "0\r\n\r\n"))
        try await chunked.closeFuture.get()
        #expect(chunkedAnswers.text.hasPrefix("HTTP/1.1 429"), "\(chunkedAnswers.text.prefix(40))")
        #expect(chunkedAnswers.text.contains("resource_exhausted"))
    }

    @Test func connectionsOverTheCapsAreClosedAtOnce() async throws {
        let server = try await LiveServer.start(gateway: { $0.limits.maximumConnections = 4; $0.limits.maximumConnectionsPerAddress = 3 })
        defer { Task { await server.stop() } }
        var opened: [any Channel] = []
        for _ in 0..<4 { opened.append(try await Bare.connect(server.gatewayPort).0) }
        #expect(await eventually { opened.filter { !$0.isActive }.count == 1 }, "one of four from one address is refused")
        #expect(await eventually { server.gateway.openConnections == 3 })
        for channel in opened { try? await channel.close() }
        #expect(await eventually { server.gateway.openConnections == 0 }, "closed connections free their slots")
    }
}
