import NIOSSL
import Synchronization

/// The TLS context every listener's new connections take (the binary port's and the HTTP gateway's), replaced
/// whole on a reload: connections already open keep the context they were made with.
public final class ServerTLS: Sendable {
    private let context: Mutex<NIOSSLContext>

    /// Throws when the certificate, key or CA do not make a context; nothing changes then.
    public init(_ configuration: TLSConfiguration) throws {
        context = Mutex(try NIOSSLContext(configuration: TLSPolicy.applied(to: configuration)))
    }

    /// The context for a connection accepted now.
    public var current: NIOSSLContext { context.withLock { $0 } }

    /// Builds the new context first, so that a bad certificate leaves the current one serving.
    public func replace(with configuration: TLSConfiguration) throws {
        let new = try NIOSSLContext(configuration: TLSPolicy.applied(to: configuration))
        context.withLock { $0 = new }
    }
}
