import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksWire
import ServiceLifecycle
import Synchronization

/// `portal-links serve`: accepts connections and answers protocol v1 until graceful shutdown, then stops
/// accepting, reports NOT_SERVING, lets calls in flight finish (up to the drain timeout) and closes.
public final class PortalLinksServer: Service, Sendable {
    /// What a reload may change (limits and timeouts for new connections, the TLS certificate) is read from
    /// `limits` and `tls` at each accept; the rest is fixed at start.
    private let configuration: ServerConfiguration
    private let limits: Mutex<ServerConfiguration>
    /// The TLS context new connections take; nil for plain TCP.
    public let tls: ServerTLS?
    private let state: ServingState
    private let logger: Logger
    private let group: any EventLoopGroup
    private let issuer: IssueWorker
    private let accounts: AccountCalls
    private let helloThrottle: FailedHelloThrottle
    /// Password hashes, on threads of their own.
    public let hashing: HashingPool
    /// Account emails, when the service sends them.
    let mailer: AccountMailer?
    public let metrics: ServerMetrics
    /// The method table for doors that take whole messages (the HTTP gateway).
    package let messageCalls: MessageCalls
    private let connections = Mutex(OpenConnections())
    private let address = BoundAddress()

    public init(configuration: ServerConfiguration, state: ServingState, logger: Logger, metrics: ServerMetrics = ServerMetrics(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.metrics = metrics
        self.configuration = configuration
        limits = Mutex(configuration)
        self.state = state
        self.logger = logger
        self.group = group
        helloThrottle = FailedHelloThrottle(burst: configuration.failedHelloBurst, perSecond: configuration.failedHellosPerSecond)
        tls = try configuration.tls.map(ServerTLS.init)
        issuer = IssueWorker(installation: state.installation, baseURL: configuration.baseURL, logger: logger)
        hashing = HashingPool(threads: configuration.hashThreads, maximumWaiting: configuration.maximumWaitingHashes,
                              priority: configuration.hashPriority)
        mailer = configuration.accountMail.map { AccountMailer($0, installation: state.installation, logger: logger) }
        accounts = AccountCalls(state: state, installation: state.installation.with(passwordWork: hashing), mailer: mailer)
        messageCalls = MessageCalls(state: state, accounts: accounts, issuer: issuer, helloThrottle: helloThrottle, logger: logger)
    }

    /// The address the server listens on, once bound (port 0 resolves to the port the system chose).
    public func listeningAddress() async throws -> SocketAddress { try await address.value() }

    /// Applies `new`'s limits, timeouts and TLS certificate to connections accepted from now on; connections
    /// already open keep theirs. Throws, changing nothing, when the certificate does not load or when TLS would be
    /// turned on or off (that needs a restart: clients would have to change too).
    public func reload(_ new: ServerConfiguration) throws {
        guard (new.tls == nil) == (tls == nil) else {
            throw ReloadError(message: "TLS cannot be turned \(tls == nil ? "on" : "off") while serving: restart to change it")
        }
        if let tls, let configuration = new.tls { try tls.replace(with: configuration) }
        limits.withLock {
            $0.maximumConnections = new.maximumConnections
            $0.maximumConnectionsPerAddress = new.maximumConnectionsPerAddress
            $0.maximumInFlight = new.maximumInFlight
            $0.maximumPayload = new.maximumPayload
            $0.idleTimeout = new.idleTimeout
            $0.partialFrameTimeout = new.partialFrameTimeout
            $0.drainTimeout = new.drainTimeout
        }
    }

    public struct ReloadError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public var openConnections: Int { connections.withLock { $0.count } }

    /// The metrics in Prometheus text format.
    public func metricsText() -> String {
        metrics.exposition(openConnections: openConnections, ringGeneration: state.generation)
    }

    public func run() async throws {
        let serverChannel: any Channel
        do {
            serverChannel = try await bootstrap().bind(host: configuration.host, port: configuration.port).get()
        } catch {
            address.settle(.failure(error))
            throw error
        }
        let bound = serverChannel.localAddress!
        address.settle(.success(bound))
        logger.info("listening", metadata: ["server.address": "\(bound)", "server.tls": "\(tls != nil)"])

        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.issuer.run() }
            if let mailer { tasks.addTask { await mailer.run() } }
            // Runs until a graceful shutdown (or cancellation) is requested.
            try? await gracefulShutdown()
            await drain(serverChannel)
            issuer.finish()
            mailer?.finish()
        }
        await hashing.shutdown()
        logger.info("stopped")
    }

    private func drain(_ serverChannel: any Channel) async {
        logger.info("draining", metadata: ["server.connections": "\(openConnections)"])
        state.beginDraining()
        try? await serverChannel.close()
        let open = connections.withLock { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(DrainEvent()) }
        let deadline = ContinuousClock.now + .nanoseconds(limits.withLock { $0.drainTimeout }.nanoseconds)
        // Cancelled rather than asked to shut down: no waiting, close at once.
        while openConnections > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = connections.withLock { Array($0.values) }
        if !remaining.isEmpty {
            logger.warning("drain timeout: closing connections with calls in flight", metadata: ["server.connections": "\(remaining.count)"])
            for channel in remaining { channel.close(promise: nil) }
        }
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: UInt(configuration.readsPerWakeup))
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 64, initial: 2_048, maximum: configuration.maximumReadBytes))
            .childChannelOption(.writeBufferWaterMark, value: .init(low: configuration.writeBufferHighWaterMark / 2,
                                                                    high: configuration.writeBufferHighWaterMark))
            .childChannelInitializer { [self] channel in
                self.initialise(channel)
            }
    }

    private func initialise(_ channel: any Channel) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let peer = channel.remoteAddress?.ipAddress ?? "-"
        let current = limits.withLock { $0 }
        let admitted = connections.withLock { connections -> Bool in
            guard connections.count < current.maximumConnections, !state.isDraining else { return false }
            return connections.insert(channel, id: id, peer: peer, limit: current.maximumConnectionsPerAddress)
        }
        guard admitted else {
            logger.warning("refusing a connection", metadata: ["server.connections": "\(openConnections)", "connection.peer": "\(peer)"])
            return channel.close()
        }
        channel.closeFuture.whenComplete { _ in
            self.connections.withLock { $0.remove(id, peer: peer) }
        }
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if let tls {
                try pipeline.addHandler(NIOSSLServerHandler(context: tls.current))
            }
            try pipeline.addHandler(makeConnectionHandler(current))
        }
    }

    /// The handler for one accepted connection (a test puts it on an `EmbeddedChannel`).
    func makeConnectionHandler(_ configuration: ServerConfiguration? = nil) -> ConnectionHandler {
        ConnectionHandler(state: state, issuer: issuer, accounts: accounts, helloThrottle: helloThrottle, metrics: metrics,
                          configuration: configuration ?? limits.withLock { $0 }, logger: logger)
    }
}
