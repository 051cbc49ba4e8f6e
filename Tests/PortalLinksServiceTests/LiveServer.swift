import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksClient
import PortalLinksMessages
import PortalLinksSQLite
import PortalLinksTesting
import PortalLinksWire
import ServiceLifecycle
import Synchronization
import SwiftProtobuf
@testable import PortalLinks
@testable import PortalLinksCore
@testable import PortalLinksService

/// A server on 127.0.0.1, port 0, over a fresh home directory, with callers to test with.
final class LiveServer: Sendable {
    let home: String
    let installation: Installation
    let server: PortalLinksServer
    let state: ServingState
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let port: Int
    let verifierKey: String
    let issuerKey: String
    /// A caller with the accounts scope ("portal").
    let accountsKey: String
    let metrics: MetricsEndpoint

    static func start(reloadInterval: Duration = .milliseconds(100), accountPolicy: AccountPolicy? = nil,
                      clock: TestClock? = nil, metricsLimits: MetricsEndpoint.Limits = .init(),
                      configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> LiveServer {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-serve-\(UUID().uuidString)").path
        let now: @Sendable () -> Int64
        if let clock { now = { clock.now } } else { now = Installation.systemClock }
        var installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "test",
                                                         clock: now)
        if let accountPolicy { installation = installation.with(accountPolicy: accountPolicy) }
        let verifierKey = try await installation.addCaller(named: "frontend", scopes: [.verify])
        let issuerKey = try await installation.addCaller(named: "staff-portal", scopes: [.verify, .issue])
        let accountsKey = try await installation.addCaller(named: "portal", scopes: [.verify, .accounts])
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.baseURL = "https://portal.example.com/join"
        configure(&configuration)
        return try await LiveServer(home: home, installation: installation, configuration: configuration,
                                    reloadInterval: reloadInterval, verifierKey: verifierKey, issuerKey: issuerKey,
                                    accountsKey: accountsKey, metricsLimits: metricsLimits)
    }

    private init(home: String, installation: Installation, configuration: ServerConfiguration, reloadInterval: Duration,
                 verifierKey: String, issuerKey: String, accountsKey: String, metricsLimits: MetricsEndpoint.Limits) async throws {
        self.home = home
        self.installation = installation
        var logger = Logger(label: "test")
        // PORTAL_LINKS_TEST_LOG=1 shows the server's debug log, for troubleshooting a test.
        logger.logLevel = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_LOG"] != nil ? .debug : .critical
        if let captured = Capture.logger(label: "test") { logger = captured }
        Capture.write([verifierKey, issuerKey, accountsKey].joined(separator: "\n"), to: "secrets/server-\(UUID().uuidString)")
        state = try await ServingState(installation: installation, logger: logger)
        server = try PortalLinksServer(configuration: configuration, state: state, logger: logger)
        metrics = MetricsEndpoint(host: "127.0.0.1", port: 0, server: server, logger: logger, limits: metricsLimits)
        group = ServiceGroup(configuration: .init(
            services: [.init(service: server), .init(service: SnapshotReloader(state: state, interval: reloadInterval)),
                       .init(service: metrics)],
            logger: logger))
        let group = self.group
        running = Task { try await group.run() }
        port = try await server.listeningAddress().port!
        self.verifierKey = verifierKey
        self.issuerKey = issuerKey
        self.accountsKey = accountsKey
    }

    func client(apiKey: String? = nil, tls: TLSConfiguration? = nil) throws -> PortalLinksClient {
        var configuration = PortalLinksClient.Configuration(host: "127.0.0.1", port: port, apiKey: apiKey, tls: tls)
        configuration.serverHostname = "localhost"
        return try PortalLinksClient(configuration: configuration)
    }

    func stop() async {
        Capture.write(server.metricsText(), to: "output/metrics-\(UUID().uuidString).txt")
        Capture.secret(try? String(contentsOfFile: home + "/master.key", encoding: .utf8), kind: "master-key")
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Signs arbitrary claims with the primary key, for links the issuing policy would refuse.
    func sign(client: ClientID = .text("acme"), issuedAt: Int64, expiresAt: Int64) async throws -> String {
        let primary = try await installation.primaryKeyRecord()
        let claims = try LinkClaims(keyID: primary.id, issuedAt: issuedAt, expiresAt: expiresAt, clientID: client)
        return LinkToken.sign(claims, with: try installation.hmacKey(for: primary)!).token
    }
}

/// A bare TCP connection for sending arbitrary bytes and reading whatever frames come back.
final class RawConnection: Sendable {
    let channel: any Channel
    let frames: AsyncStream<Frame>
    let closed: EventLoopFuture<Void>

    init(port: Int) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self)
        frames = stream
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .client)))
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        closed = channel.closeFuture
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ frames: [Frame]) async throws {
        var buffer = ByteBuffer()
        for frame in frames { try FrameEncoder().encode(data: frame, out: &buffer) }
        try await channel.writeAndFlush(buffer)
    }

    /// The next `count` frames, or fewer if the connection closes or `seconds` pass.
    func receive(_ count: Int, within seconds: Double = 5) async -> [Frame] {
        await withTaskGroup(of: [Frame].self) { group in
            group.addTask {
                var received: [Frame] = []
                for await frame in self.frames {
                    received.append(frame)
                    if received.count == count { break }
                }
                return received
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return []
            }
            var result: [Frame] = []
            for await partial in group {
                if !partial.isEmpty || result.isEmpty { result = partial }
                group.cancelAll()
                break
            }
            return result
        }
    }

    /// Whether the server closes the connection within `seconds`.
    func closesWithin(_ seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !channel.isActive
    }

    func close() async { try? await channel.close() }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = Frame
        let continuation: AsyncStream<Frame>.Continuation
        init(continuation: AsyncStream<Frame>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

enum Payload {
    static func hello(_ key: String) -> ByteBuffer {
        var request = PortalLinks_V1_HelloRequest()
        request.apiKey = key
        return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
    }

    static func verify(_ token: String) -> ByteBuffer {
        var request = PortalLinks_V1_VerifyRequest()
        request.token = token
        return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
    }

    static func issue(_ client: String) -> ByteBuffer {
        var request = PortalLinks_V1_IssueRequest()
        request.clientID = client
        return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
    }

    static func decode<Message: SwiftProtobuf.Message>(_ frame: Frame, as: Message.Type = Message.self) throws -> Message {
        try Message(serializedBytes: Array(frame.payload.readableBytesView))
    }
}
