import Hummingbird
import Logging
import NIOCore
import NIOSSL
import PortalLinksService

/// `serve --http`: the second door onto the server's method table, callers, scopes, limits and metrics, for
/// front-ends with no client library. Connect (`ConnectRoutes`), forward auth (`ForwardAuth`) and the
/// probes, on Hummingbird, on the server's event loops. Also `serve --metrics`, on the same HTTP stack.
public enum HTTPGateway {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 7421
        /// The server's TLS (`PortalLinksServer.tls`), so that a reload reaches both doors.
        public var tls: ServerTLS?
        public var limits = HTTPLimits()
        /// `Connect-Timeout-Ms` is clamped to this.
        public var maximumCallTimeout: TimeAmount = .seconds(60)
        /// The cookie that carries a session token for `/auth/session`.
        public var sessionCookie = "portal_session"
        /// Where forward auth redirects a refused link or session when the proxy asks for a redirect (the
        /// reason goes in `reason`).
        public var linkRedirect: String?
        public var sessionRedirect: String?

        public init() {}
    }

    /// The gateway's listener.
    public static func listener(_ configuration: Configuration, server: PortalLinksServer, group: any EventLoopGroup,
                                logger: Logger) -> HTTPListener {
        let calls = server.messageCalls
        let callers = CallerCheck(calls: calls, logger: logger)
        let router = Router(context: GatewayContext.self)
        probes(on: router, calls)
        ConnectRoutes(calls: calls, callers: callers, metrics: server.metrics, maximumBodyBytes: configuration.limits.maximumBodyBytes,
                      maximumTimeout: configuration.maximumCallTimeout).register(on: router)
        let forwardAuth = ForwardAuth(calls: calls, callers: callers, metrics: server.metrics, configuration: configuration)
        ForwardAuthRoutes(forwardAuth: forwardAuth).register(on: router)
        return HTTPListener(name: "http", host: configuration.host, port: configuration.port, router: router, forwardAuth: forwardAuth,
                            limits: configuration.limits, tls: configuration.tls, group: group, logger: logger)
    }

    /// `--metrics`: `GET /metrics` in Prometheus text format, and the probes. Small limits of its own: it is
    /// for a scraper or two.
    public static func metricsListener(host: String, port: Int, server: PortalLinksServer, limits: HTTPLimits = metricsLimits,
                                       group: any EventLoopGroup, logger: Logger) -> HTTPListener {
        let router = Router(context: GatewayContext.self)
        probes(on: router, server.messageCalls)
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: server.metricsText())))
        }
        return HTTPListener(name: "metrics", host: host, port: port, router: router, limits: limits, tls: nil, group: group, logger: logger)
    }

    public static let metricsLimits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.maximumConnections = 64
        limits.maximumConnectionsPerAddress = 64
        limits.maximumBodyBytes = 0
        limits.headerTimeout = .seconds(5)
        limits.requestTimeout = .seconds(5)
        limits.idleTimeout = .seconds(30)
        return limits
    }()

    /// `GET /healthz`: 200 while the process runs. `GET /readyz`: 200 while serving, 503 from the moment
    /// draining starts (the listeners open only once the first key ring is loaded).
    private static func probes(on router: Router<GatewayContext>, _ calls: MessageCalls) {
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/readyz") { _, _ in
            calls.isServing
                ? Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                           body: .init(byteBuffer: ByteBuffer(string: "draining\n")))
        }
    }
}
