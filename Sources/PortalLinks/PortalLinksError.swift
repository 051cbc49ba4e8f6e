/// A staff operation that could not be carried out. The message is one line, safe to show: it never holds a
/// token, a key or a password.
public struct PortalLinksError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidInput, notFound, masterKey, conflict }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The caller's input was refused; nothing changed.
        public static let invalidInput = Code(.invalidInput)
        public static let notFound = Code(.notFound)
        /// The master key is missing, unreadable, malformed or not the one the ring is sealed under.
        public static let masterKey = Code(.masterKey)
        /// The request is valid but the ring's state does not allow it.
        public static let conflict = Code(.conflict)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
