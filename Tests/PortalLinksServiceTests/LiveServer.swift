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
import PortalLinksGateway

/// A server on 127.0.0.1, port 0, over a fresh home directory, with callers to test with, and the HTTP
/// gateway and the metrics endpoint beside it.
@dynamicMemberLookup final class LiveServer: Sendable {
    /// The server itself: `home`, `installation`, `state`, `server`, `group`, `running` and `port` read through.
    let live: InProcessServer
    let verifierKey: String
    let issuerKey: String
    /// A caller with the accounts scope ("portal").
    let accountsKey: String
    let metrics: HTTPListener
    let gateway: HTTPListener

    static func start(reloadInterval: Duration = .milliseconds(100), accountPolicy: AccountPolicy? = nil,
                      clock: TestClock? = nil, metricsLimits: HTTPLimits = HTTPGateway.metricsLimits,
                      configure: (inout ServerConfiguration) -> Void = { _ in },
                      gateway configureGateway: (inout HTTPGateway.Configuration) -> Void = { _ in }) async throws -> LiveServer {
        let home = InProcessServer.temporaryHome("serve")
        let now: @Sendable () -> Int64
        if let clock { now = { clock.now } } else { now = Installation.systemClock }
        var installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "test",
                                                         clock: now)
        if let accountPolicy { installation = installation.with(accountPolicy: accountPolicy) }
        let verifierKey = try await installation.addCaller(named: "frontend", scopes: [.verify])
        let issuerKey = try await installation.addCaller(named: "staff-portal", scopes: [.verify, .issue])
        let accountsKey = try await installation.addCaller(named: "portal", scopes: [.verify, .accounts])
        var configuration = ServerConfiguration()
        configuration.baseURL = "https://portal.example.com/join"
        configure(&configuration)
        var logger = Logger(label: "test")
        // PORTAL_LINKS_TEST_LOG=1 shows the server's debug log, for troubleshooting a test.
        logger.logLevel = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_LOG"] != nil ? .debug : .critical
        if let captured = Capture.logger(label: "test") { logger = captured }
        Capture.write([verifierKey, issuerKey, accountsKey].joined(separator: "\n"), to: "secrets/server-\(UUID().uuidString)")
        var gatewayConfiguration = HTTPGateway.Configuration()
        gatewayConfiguration.port = 0
        configureGateway(&gatewayConfiguration)
        var listeners: [HTTPListener] = []
        let live = try await InProcessServer.start(installation: installation, home: home, configuration: configuration,
                                                   reloadInterval: reloadInterval, logger: logger) { server in
            var options = gatewayConfiguration
            options.tls = server.tls
            listeners = [
                HTTPGateway.metricsListener(host: "127.0.0.1", port: 0, server: server, limits: metricsLimits,
                                            group: MultiThreadedEventLoopGroup.singleton, logger: logger),
                HTTPGateway.listener(options, server: server, group: MultiThreadedEventLoopGroup.singleton, logger: logger),
            ]
            return listeners
        }
        let metricsPort = try await listeners[0].listeningAddress().port!
        let gatewayPort = try await listeners[1].listeningAddress().port!
        return LiveServer(live: live, metrics: listeners[0], metricsPort: metricsPort, gateway: listeners[1], gatewayPort: gatewayPort,
                          verifierKey: verifierKey, issuerKey: issuerKey, accountsKey: accountsKey)
    }

    let metricsPort: Int
    let gatewayPort: Int

    private init(live: InProcessServer, metrics: HTTPListener, metricsPort: Int, gateway: HTTPListener, gatewayPort: Int,
                 verifierKey: String, issuerKey: String, accountsKey: String) {
        self.live = live
        self.metrics = metrics
        self.metricsPort = metricsPort
        self.gateway = gateway
        self.gatewayPort = gatewayPort
        self.verifierKey = verifierKey
        self.issuerKey = issuerKey
        self.accountsKey = accountsKey
    }

    subscript<Value>(dynamicMember path: KeyPath<InProcessServer, Value>) -> Value { live[keyPath: path] }

    func client(apiKey: String? = nil, tls: TLSConfiguration? = nil) throws -> PortalLinksClient {
        var configuration = PortalLinksClient.Configuration(host: "127.0.0.1", port: live.port, apiKey: apiKey, tls: tls)
        configuration.serverHostname = "localhost"
        return try PortalLinksClient(configuration: configuration)
    }

    func stop() async {
        Capture.write(live.server.metricsText(), to: "output/metrics-\(UUID().uuidString).txt")
        Capture.secret(try? String(contentsOfFile: live.home + "/master.key", encoding: .utf8), kind: "master-key")
        await live.stop()
    }

    /// Signs arbitrary claims with the primary key, for links the issuing policy would refuse.
    func sign(client: ClientID = .text("acme"), issuedAt: Int64, expiresAt: Int64) async throws -> String {
        let primary = try await live.installation.primaryKeyRecord()
        let claims = try LinkClaims(keyID: primary.id, issuedAt: issuedAt, expiresAt: expiresAt, clientID: client)
        return LinkToken.sign(claims, with: try live.installation.hmacKey(for: primary)!).token
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
