import NIOCore
import NIOPosix
import PortalLinksWire
#if canImport(Glibc)
import Glibc
#endif

/// A call that did not succeed: the server's status and message, or UNAVAILABLE when the connection failed.
public struct PortalLinksClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: StatusCode
    public let message: String
    /// The server's machine-readable reason, where it gives one (why Accounts.Register refused a link:
    /// "expired", "link_revoked", "link_full", ...); empty otherwise.
    public let reason: String

    public init(code: StatusCode, message: String, reason: String = "") {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String { "\(code): \(message)" }

    static func unavailable(_ message: String) -> PortalLinksClientError { .init(code: .unavailable, message: message) }

    /// A transport error in a few words ("connection refused") rather than NIO's nested description of every
    /// connection attempt.
    public static func reason(_ error: any Error) -> String {
        if let failed = error as? NIOConnectionError, let first = failed.connectionErrors.first { return reason(first.error) }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        return "\(error)"
    }
}
