import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksService
import ServiceLifecycle

/// One HTTP listener on Hummingbird within `HTTPLimits`: the gateway and the metrics endpoint each are one.
/// A service: it serves until the group's graceful shutdown, then stops accepting, closes idle connections
/// and closes the others after their answers.
public final class HTTPListener: Service, Sendable {
    private let application: Application<RouterResponder<GatewayContext>>
    private let connections: ConnectionCount
    private let bound: BoundAddress

    init(name: String, host: String, port: Int, router: Router<GatewayContext>, forwardAuth: ForwardAuth? = nil, limits: HTTPLimits,
         tls: ServerTLS?, group: any EventLoopGroup, logger: Logger) {
        let connections = ConnectionCount()
        let bound = BoundAddress()
        self.connections = connections
        self.bound = bound
        application = Application(
            router: router,
            server: .guarded(limits, tls: tls, connections: connections, forwardAuth: forwardAuth),
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 1_024),
            onServerRunning: { channel in
                if let address = channel.localAddress { bound.settle(.success(address)) }
                logger.info("listening", metadata: ["http.listener": "\(name)", "http.address": "\(channel.localAddress.map { "\($0)" } ?? "-")",
                                                          "http.tls": "\(tls != nil)"])
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
    }

    /// The address the listener is bound to, once it is (port 0 resolves to the port the system chose).
    public func listeningAddress() async throws -> SocketAddress { try await bound.value() }

    public var openConnections: Int { connections.count }

    public func run() async throws {
        do {
            try await application.run()
        } catch {
            bound.settle(.failure(error))
            throw error
        }
        bound.settle(.failure(CancellationError()))  // stopped before it bound; ignored once bound
    }
}
