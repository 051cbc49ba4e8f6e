/// A short, stable name for one link: the first 8 bytes of its tag, shown as 16 hex digits.
///
/// Used for revocation, the ledger, the audit log and logs, so that a whole token never has to be printed.
/// It is only meaningful for a link whose tag has been checked.
public struct LinkID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init?(parsing text: some StringProtocol) {
        guard text.utf8.count == 16, let value = UInt64(text, radix: 16) else { return nil }
        rawValue = value
    }

    public var description: String { Hex.padded(rawValue, digits: 16) }

    public static func < (lhs: LinkID, rhs: LinkID) -> Bool { lhs.rawValue < rhs.rawValue }
}
