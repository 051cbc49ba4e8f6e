/// Why the fields of a link to be issued were refused.
public struct LinkClaimsError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidClientID, invalidDisplayName, invalidLifetime }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let invalidClientID = Code(.invalidClientID)
        public static let invalidDisplayName = Code(.invalidDisplayName)
        public static let invalidLifetime = Code(.invalidLifetime)

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
