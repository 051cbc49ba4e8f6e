import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// One HTTP listener on Hummingbird within `HTTPLimits`: the gateway and the metrics endpoint each are one.
/// A service: it serves until the group's graceful shutdown, then stops accepting, closes idle connections
/// and closes the others after their answers.
public final class HTTPListener: Service, Sendable {
    private let application: Application<RouterResponder<GatewayContext>>
    private let connections: ConnectionCount
    private let bound: EventLoopPromise<SocketAddress>
    private let settled: Settled

    init(name: String, host: String, port: Int, router: Router<GatewayContext>, limits: HTTPLimits, tls: TLSConfiguration?,
         group: any EventLoopGroup, logger: Logger) {
        let connections = ConnectionCount()
        let bound = group.next().makePromise(of: SocketAddress.self)
        let settled = Settled()
        self.connections = connections
        self.bound = bound
        self.settled = settled
        application = Application(
            router: router,
            server: .guarded(limits, tls: tls, connections: connections),
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 1_024),
            onServerRunning: { channel in
                if let address = channel.localAddress, settled.first() { bound.succeed(address) }
                logger.info("listening", metadata: ["http.listener": "\(name)", "http.address": "\(channel.localAddress.map { "\($0)" } ?? "-")",
                                                          "http.tls": "\(tls != nil)"])
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
    }

    /// The address the listener is bound to, once it is (port 0 resolves to the port the system chose).
    public func listeningAddress() async throws -> SocketAddress { try await bound.futureResult.get() }

    public var openConnections: Int { connections.count }

    public func run() async throws {
        do {
            try await application.run()
        } catch {
            if settled.first() { bound.fail(error) }
            throw error
        }
        if settled.first() { bound.fail(CancellationError()) }
    }
}

/// Whether a promise is completed: a promise must be completed once.
private final class Settled: Sendable {
    private let done = Atomic(false)
    /// True the first time only.
    func first() -> Bool { !done.exchange(true, ordering: .relaxed) }
}
