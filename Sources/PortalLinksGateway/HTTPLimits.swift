import NIOCore

/// What one HTTP listener tolerates from clients, before any authentication: connections, sizes and times.
/// Past a limit a connection is closed (over the connection caps: at once) or the request is refused.
public struct HTTPLimits: Sendable {
    public var maximumConnections = 1_024
    /// Connections one client address may hold (a reverse proxy's pool: raise it to `maximumConnections`
    /// when only proxies connect).
    public var maximumConnectionsPerAddress = 256
    /// The request line and headers together.
    public var maximumHeaderBytes = 16_384
    /// A request body; a larger one is refused and its connection closed after the answer.
    public var maximumBodyBytes = 65_536
    /// From the first byte of a request to the end of its headers.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// From the end of a request's headers to the end of its body.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// A kept-alive connection with no request for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(60)

    public init() {}
}
