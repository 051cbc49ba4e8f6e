/// An account's email, in the one spelling used for uniqueness: surrounding white space trimmed and the
/// whole address case-folded, so that "Ana@Example.com " and "ana@example.com" are one account.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let normalized: String

    public static let maximumLength = 254

    /// Nil for text that is not plausibly an address: one "@" with something on both sides, a dot in the
    /// domain, no white space or control characters, at most 254 bytes.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhiteSpace()
        let folded = trimmed.lowercased()
        let parts = folded.split(separator: "@", omittingEmptySubsequences: false)
        guard folded.utf8.count <= Self.maximumLength, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !folded.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f })
        else { return nil }
        normalized = folded
    }

    /// For addresses read back from the store, already normalised.
    public init(normalized: String) { self.normalized = normalized }

    public var description: String { normalized }
}

extension String {
    func trimmingWhiteSpace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
