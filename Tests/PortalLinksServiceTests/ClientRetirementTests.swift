import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PortalLinksClient
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf
import Testing

/// The Swift client and a node that is shutting down: an UNAVAILABLE answer retires the connection for new
/// calls, which go to a new connection, while a call already in flight on it still gets its answer.
@Suite(.timeLimit(.minutes(1))) struct ClientRetirementTests {
    @Test func anUnavailableAnswerRetiresTheConnectionAndItsCallsInFlightFinish() async throws {
        let server = try await DrainingServer.start()
        let client = try PortalLinksClient(configuration: .init(host: "127.0.0.1", port: server.port, apiKey: "plk_test"))
        async let inFlight = client.health()
        // The first call must be the one the server holds: wait until it has arrived.
        let deadline = ContinuousClock.now + .seconds(20)
        while !server.holdsACall, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.holdsACall)
        await #expect(throws: PortalLinksClientError.self) { _ = try await client.health() }
        #expect(try await client.health() == .serving, "a new connection")
        #expect(try await inFlight == .serving, "the call in flight on the retired connection was answered")
        #expect(server.connections == 2)
        await client.close()
        try await server.channel.close()
    }
}

/// Answers Hello; on its first connection it holds the first call, answers the second UNAVAILABLE as a draining
/// node does, then answers the first; later connections answer every call.
final class DrainingServer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private static let opened = NIOLockedValueBox(0)
    private static let holding = NIOLockedValueBox(false)
    let index: Int
    private var held: FrameHeader?

    init(index: Int) { self.index = index }

    struct Running {
        let channel: any Channel
        let port: Int
        var connections: Int { DrainingServer.opened.withLockedValue { $0 } }
        var holdsACall: Bool { DrainingServer.holding.withLockedValue { $0 } }
    }

    static func start() async throws -> Running {
        opened.withLockedValue { $0 = 0 }
        holding.withLockedValue { $0 = false }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let index = opened.withLockedValue { count in defer { count += 1 }; return count }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .server)))
                    try channel.pipeline.syncOperations.addHandler(DrainingServer(index: index))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return Running(channel: channel, port: channel.localAddress!.port!)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let header = unwrapInboundIn(data).header
        if MethodID(rawValue: header.code) == .authHello {
            answer(context, header, .ok, PortalLinks_V1_HelloResponse())
        } else if index == 0, held == nil {
            held = header
            Self.holding.withLockedValue { $0 = true }
        } else if index == 0, let first = held {
            var error = PortalLinks_V1_Error()
            error.message = "the server is shutting down"
            answer(context, header, .unavailable, error)
            var serving = PortalLinks_V1_HealthCheckResponse()
            serving.status = .serving
            answer(context, first, .ok, serving)
        } else {
            var serving = PortalLinks_V1_HealthCheckResponse()
            serving.status = .serving
            answer(context, header, .ok, serving)
        }
    }

    private func answer(_ context: ChannelHandlerContext, _ header: FrameHeader, _ status: StatusCode, _ message: some SwiftProtobuf.Message) {
        let bytes: [UInt8] = (try? message.serializedBytes()) ?? []
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeResponseFrame(status: status, callID: header.callID) { $0.writeBytes(bytes) }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
