import PortalLinksWire

/// A call that did not succeed: the server's status and message, or UNAVAILABLE when the connection failed.
public struct PortalLinksClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: StatusCode
    public let message: String

    public init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func unavailable(_ message: String) -> PortalLinksClientError { .init(code: .unavailable, message: message) }
}
