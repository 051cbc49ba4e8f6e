import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `--metrics HOST:PORT`: a plain HTTP listener answering `GET /metrics` in Prometheus text format.
///
/// Bounded like the verify listener, whose process and file descriptors it shares: at most
/// `maximumConnections` at once (more are closed at once), a request must arrive whole within `requestTimeout`
/// of the connection or of the previous answer, and a kept-alive connection idle for `idleTimeout` is closed.
public final class MetricsEndpoint: Service, Sendable {
    public struct Limits: Sendable {
        public var maximumConnections = 64
        public var requestTimeout: TimeAmount = .seconds(5)
        public var idleTimeout: TimeAmount = .seconds(30)
        public init() {}
    }

    private let host: String
    private let port: Int
    private let server: PortalLinksServer
    private let logger: Logger
    private let limits: Limits
    private let bound: EventLoopPromise<SocketAddress>
    private let open = Atomic<Int>(0)

    public init(host: String, port: Int, server: PortalLinksServer, logger: Logger, limits: Limits = Limits()) {
        self.host = host
        self.port = port
        self.server = server
        self.logger = logger
        self.limits = limits
        bound = MultiThreadedEventLoopGroup.singleton.next().makePromise()
    }

    public func listeningAddress() async throws -> SocketAddress { try await bound.futureResult.get() }

    public func run() async throws {
        let server = self.server
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self, limits] channel in
                    guard open.wrappingAdd(1, ordering: .relaxed).newValue <= limits.maximumConnections else {
                        open.wrappingSubtract(1, ordering: .relaxed)
                        return channel.close()
                    }
                    channel.closeFuture.whenComplete { _ in self.open.wrappingSubtract(1, ordering: .relaxed) }
                    return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(server: server, limits: limits))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            bound.fail(error)
            throw error
        }
        bound.succeed(channel.localAddress!)
        logger.info("metrics listening", metadata: ["metrics.address": "\(channel.localAddress!)"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: PortalLinksServer
    private let limits: MetricsEndpoint.Limits
    private var path = ""
    private var deadline: Scheduled<Void>?

    init(server: PortalLinksServer, limits: MetricsEndpoint.Limits) {
        self.server = server
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) { closeUnlessHeard(context, within: limits.requestTimeout) }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    /// Closes the connection unless something cancels the timer first: a request's start, or its answer.
    private func closeUnlessHeard(_ context: ChannelHandlerContext, within delay: TimeAmount) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: delay) { bound.value.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : ""
            closeUnlessHeard(context, within: limits.requestTimeout)
        case .body:
            break
        case .end:
            closeUnlessHeard(context, within: limits.idleTimeout)
            let found = path == "/metrics"
            let body = found ? server.metricsText() : "not found: GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
