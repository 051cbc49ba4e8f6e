/// A signing key's identifier: 32 random bits, shown as 8 hex digits, never reused within a ring.
public struct KeyID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init?(parsing text: some StringProtocol) {
        guard text.utf8.count == 8, let value = UInt32(text, radix: 16) else { return nil }
        rawValue = value
    }

    public static func random() -> KeyID { KeyID(rawValue: SecureRandom.uint32()) }

    public var description: String { Hex.padded(rawValue, digits: 8) }

    public var bigEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (24 - 8 * $0)) } }

    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.rawValue < rhs.rawValue }
}
