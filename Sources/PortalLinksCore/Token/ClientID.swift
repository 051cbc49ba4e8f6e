/// The client company a link belongs to: a UUID (16 bytes in a token) or a short text ID such as `acme`.
///
/// Text that reads as a UUID is always taken as the UUID, and text is kept in NFC (`CanonicalText`), so one
/// client has exactly one spelling. Two IDs are equal when their bytes are, as in a token check and in SQL.
public enum ClientID: Hashable, Sendable, CustomStringConvertible {
    case uuid(UUIDBytes)
    /// Always in NFC: build it with `init(parsing:)`, or from ASCII.
    case text(String)

    /// Text IDs and display names are at most this many UTF-8 bytes.
    public static let maximumTextBytes = 64

    public init(parsing text: some StringProtocol) throws(PortalLinksError) {
        if let uuid = UUIDBytes(parsing: text) {
            self = .uuid(uuid)
            return
        }
        let canonical = CanonicalText.nfc(text)
        guard TextField.isAcceptable(canonical, allowSpaces: false) else {
            throw PortalLinksError(
                .invalidInput,
                "client ID must be a UUID or 1 to \(Self.maximumTextBytes) bytes of text without spaces or control characters")
        }
        self = .text(canonical)
    }

    /// This ID in its one spelling: what `init(parsing:)` makes, for IDs built another way.
    public var canonical: ClientID {
        guard case .text(let text) = self else { return self }
        return .text(CanonicalText.nfc(text))
    }

    public static func == (lhs: ClientID, rhs: ClientID) -> Bool {
        switch (lhs, rhs) {
        case (.uuid(let left), .uuid(let right)): left == right
        case (.text(let left), .text(let right)): left.utf8.elementsEqual(right.utf8)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .uuid(let uuid): hasher.combine(uuid)
        case .text(let text):
            hasher.combine(1 as UInt8)
            for byte in text.utf8 { hasher.combine(byte) }
        }
    }

    public var description: String {
        switch self {
        case .uuid(let uuid): uuid.description
        case .text(let text): text
        }
    }
}

/// A UUID held as two integers, so that client IDs in tokens cost no allocation.
public struct UUIDBytes: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The canonical 8-4-4-4-12 form, either case.
    public init?(parsing text: some StringProtocol) { self.init(utf8: text.utf8) }

    /// The same, from UTF-8 bytes.
    init?(utf8: some Collection<UInt8>) {
        guard utf8.count == 36 else { return nil }
        var value: (UInt64, UInt64) = (0, 0)
        var digits = 0
        for (offset, character) in utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let nibble = Hex.value(of: character) else { return nil }
            if digits < 16 {
                value.0 = value.0 << 4 | UInt64(nibble)
            } else {
                value.1 = value.1 << 4 | UInt64(nibble)
            }
            digits += 1
        }
        self.init(high: value.0, low: value.1)
    }

    public var description: String {
        let hex = Hex.encode(bigEndianBytes)
        let characters = Array(hex)
        return String(characters[0..<8]) + "-" + String(characters[8..<12]) + "-" + String(characters[12..<16])
            + "-" + String(characters[16..<20]) + "-" + String(characters[20..<32])
    }

    public var bigEndianBytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}

/// Rules shared by text client IDs, link display names and account display names.
public enum TextField {
    static func isAcceptable(_ text: some StringProtocol, allowSpaces: Bool,
                             maximumBytes: Int = ClientID.maximumTextBytes) -> Bool {
        let byteCount = text.utf8.count
        guard byteCount >= 1, byteCount <= maximumBytes else { return false }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              !first.properties.isWhitespace, !last.properties.isWhitespace
        else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            if scalar.properties.generalCategory == .control { return false }
            return allowSpaces || !scalar.properties.isWhitespace
        }
    }

    /// A display name in its one spelling (NFC), or nil when it breaks the rules: 1 to 64 bytes, no control
    /// characters, no surrounding white space, and no bidirectional controls (embeddings, overrides, isolates
    /// and marks), which reorder what is printed after them.
    public static func displayName(_ text: some StringProtocol, maximumBytes: Int = ClientID.maximumTextBytes) -> String? {
        let canonical = CanonicalText.nfc(text)
        guard isAcceptable(canonical, allowSpaces: true, maximumBytes: maximumBytes),
              !canonical.unicodeScalars.contains(where: isBidiControl)
        else { return nil }
        return canonical
    }

    /// Unicode's Bidi_Control scalars: U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isBidiControl }

    public static let displayNameRule =
        "display name must be 1 to \(ClientID.maximumTextBytes) bytes without control characters, bidirectional overrides or surrounding spaces"
}
