import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `--metrics HOST:PORT`: a plain HTTP listener answering `GET /metrics` in Prometheus text format.
public final class MetricsEndpoint: Service, Sendable {
    private let host: String
    private let port: Int
    private let server: PortalLinksServer
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>

    public init(host: String, port: Int, server: PortalLinksServer, logger: Logger) {
        self.host = host
        self.port = port
        self.server = server
        self.logger = logger
        bound = MultiThreadedEventLoopGroup.singleton.next().makePromise()
    }

    public func listeningAddress() async throws -> SocketAddress { try await bound.futureResult.get() }

    public func run() async throws {
        let server = self.server
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(server: server))
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
    private var path = ""

    init(server: PortalLinksServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : ""
        case .body:
            break
        case .end:
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
