/// An account's email in the one spelling used for uniqueness and lookups: surrounding white space trimmed,
/// Unicode NFC, ASCII letters lower-cased in the local part and the domain lower-cased; nothing else is folded.
///
/// Unicode case folding and compatibility mappings would merge different mailboxes: "\u{212A}im" (KELVIN SIGN)
/// lower-cases to "kim", and a password reset for one would find the other's account. So no such mapping is
/// applied, and an address holding a scalar that Unicode maps to ASCII (`ASCIILookalikes`: U+212A, U+0130,
/// U+017F, fullwidth letters, ligatures, …) is refused outright: it stands for an ASCII address that may be
/// somebody else's. "Ana@Example.com " and "ana@example.com" are one account; "straße@…" and "strasse@…" are
/// two, and so are "Élodie@…" and "élodie@…".
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let normalized: String

    public static let maximumLength = 254

    /// Nil for text that is not plausibly an address: one "@" with something on both sides, a dot in the
    /// domain, no white space or control characters, no ASCII look-alike, at most 254 bytes.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhiteSpace()
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }),
              !trimmed.unicodeScalars.contains(where: Self.isASCIILookalike)
        else { return nil }
        let folded = Self.spelling(of: trimmed)
        let parts = folded.split(separator: "@", omittingEmptySubsequences: false)
        guard folded.utf8.count <= Self.maximumLength, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return nil }
        normalized = folded
    }

    /// For addresses read back from the store, already normalised.
    public init(normalized: String) { self.normalized = normalized }

    public var description: String { normalized }

    /// Bytes, as the stores compare them (Swift's `String` equality is canonical equivalence).
    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized.utf8.elementsEqual(rhs.normalized.utf8) }

    public func hash(into hasher: inout Hasher) {
        for byte in normalized.utf8 { hasher.combine(byte) }
    }

    /// Whether Unicode maps `scalar`, by compatibility decomposition or lower-casing, to ASCII only.
    public static func isASCIILookalike(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        guard value >= 0x80 else { return false }
        var low = 0
        var high = ASCIILookalikes.ranges.count
        while low < high {
            let middle = (low + high) / 2
            let range = ASCIILookalikes.ranges[middle]
            if value < range.lowerBound { high = middle } else if value > range.upperBound { low = middle + 1 } else { return true }
        }
        return false
    }

    /// The one spelling of an address: NFC, ASCII letters lower-cased in the local part (what every mail
    /// system folds; a non-ASCII local part is compared as written), the domain lower-cased as IDNA does.
    public static func spelling(of text: String) -> String {
        let canonical = CanonicalText.nfc(text)
        guard let at = canonical.lastIndex(of: "@") else { return lowercasingASCII(canonical) }
        let domain = canonical[canonical.index(after: at)...]
        return lowercasingASCII(String(canonical[...at])) + CanonicalText.nfc(domain.lowercased())
    }

    private static func lowercasingASCII(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

extension String {
    /// Without leading and trailing Unicode white space.
    public func trimmingWhiteSpace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
