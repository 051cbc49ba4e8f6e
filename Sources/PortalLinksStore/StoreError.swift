/// A store failure that is not a database error: data that does not make sense.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case corrupt }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let corrupt = Code(.corrupt)

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
