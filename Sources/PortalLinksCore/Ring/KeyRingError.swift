/// A key-ring change that was refused. The ring is left as it was.
public struct KeyRingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case unknownKey, forbiddenTransition, noPrimaryKey, duplicateKeyID }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let unknownKey = Code(.unknownKey)
        public static let forbiddenTransition = Code(.forbiddenTransition)
        public static let noPrimaryKey = Code(.noPrimaryKey)
        public static let duplicateKeyID = Code(.duplicateKeyID)

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
