/// Why an operation was refused, from any layer. The message is one line, safe to show anywhere: it never
/// holds a token, key material or a password. The code decides how the edge reports it (a CLI exit status,
/// later a wire status).
public struct PortalLinksError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidInput, notFound, conflict, alreadyExists, unauthenticated, busy, unavailable, masterKey, corrupt }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The caller's input was refused; nothing changed.
        public static let invalidInput = Code(.invalidInput)
        /// The named key, link or record does not exist.
        public static let notFound = Code(.notFound)
        /// The request is well formed but the current state does not allow it (a forbidden key transition).
        public static let conflict = Code(.conflict)
        /// The record to create exists already (an account's email); nothing changed.
        public static let alreadyExists = Code(.alreadyExists)
        /// Sign-in refused, or a session or reset token that does not hold. Deliberately vague.
        public static let unauthenticated = Code(.unauthenticated)
        /// Too much work is waiting (password hashes on a server); nothing was done, try again shortly.
        public static let busy = Code(.busy)
        /// The store cannot be reached (a database server that is down, unknown or refuses the connection).
        public static let unavailable = Code(.unavailable)
        /// The master key is missing, unreadable, malformed or not the one the ring is sealed under.
        public static let masterKey = Code(.masterKey)
        /// Stored data does not make sense.
        public static let corrupt = Code(.corrupt)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    /// A short machine-readable reason where the code alone is not enough (why a link was refused at
    /// registration: "expired", "link_revoked", "link_full"); nil otherwise.
    public let reason: String?

    public init(_ code: Code, _ message: String, reason: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
    }

    public var description: String { message }
}
