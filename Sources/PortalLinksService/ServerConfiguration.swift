import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksWire

/// How `portal-links serve` listens and what it tolerates. Every limit has a default fit for production.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 7420
    public var maximumConnections = 10_000
    /// Connections one client address may hold open at once (a front-end's pool, or a balancer in TCP mode:
    /// raise it to `maximumConnections` behind one).
    public var maximumConnectionsPerAddress = 1_024
    /// Calls other than Health a connection may make before a successful Hello; the last one's answer is
    /// followed by the connection's close.
    public var maximumCallsBeforeHello = 16
    /// What a client that never reads its answers can make the server keep for its connection, at most
    /// `readsPerWakeup × maximumReadBytes` of calls read and not yet handled, `maximumPendingAnswerBytes` of
    /// answers being gathered and `writeBufferHighWaterMark` of answers the socket has not taken: 144 KiB by
    /// default, within the 256 KiB docs/protocol.md promises. Past them the server stops reading the connection.
    public var maximumPendingAnswerBytes = 16_384
    public var writeBufferHighWaterMark = 65_536
    public var maximumReadBytes = 16_384
    public var readsPerWakeup = 4
    /// A connection with no traffic for this long is closed.
    public var idleTimeout: TimeAmount = .minutes(5)
    /// A frame that has started to arrive must be complete within this time.
    public var partialFrameTimeout: TimeAmount = .seconds(10)
    /// Calls of one connection being worked on at once; beyond it the server stops reading that connection.
    public var maximumInFlight = 1_024
    /// Largest payload accepted; a longer one closes the connection.
    public var maximumPayload = FrameDecoder.defaultMaximumPayload
    /// On shutdown, how long calls in flight get to finish.
    public var drainTimeout: TimeAmount = .seconds(10)
    /// Failed Hellos after which the connection is closed.
    public var maximumFailedHellos = 3
    /// Failed Hellos one client address may make at once, across connections, and how many a second after that.
    public var failedHelloBurst = 20
    public var failedHellosPerSecond = 5.0
    /// Portal address for Links.Issue's url, when the request gives none.
    public var baseURL: String?
    /// Threads computing password hashes (19 MiB each while they work); sign-ins beyond them wait.
    public var hashThreads = System.coreCount
    /// Hashes that may wait for a thread; beyond them account calls get RESOURCE_EXHAUSTED at once.
    public var maximumWaitingHashes = 64
    /// How the hashing threads compete with the event loops for the CPU.
    public var hashPriority = HashingPool.Priority.idle
    /// TLS, mutual when it verifies client certificates.
    public var tls: TLSConfiguration?
    /// Account emails the service sends itself (password resets, welcomes); nil: none.
    public var accountMail: AccountMailer.Configuration?

    public init() {}
}
