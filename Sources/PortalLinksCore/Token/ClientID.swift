/// The client company a link belongs to: a UUID (16 bytes in a token) or a short text ID such as `acme`.
///
/// Text that reads as a UUID is always taken as the UUID, so one client has exactly one form.
public enum ClientID: Hashable, Sendable, CustomStringConvertible {
    case uuid(UUIDBytes)
    case text(String)

    /// Text IDs and display names are at most this many UTF-8 bytes.
    public static let maximumTextBytes = 64

    public init(parsing text: some StringProtocol) throws(PortalLinksError) {
        if let uuid = UUIDBytes(parsing: text) {
            self = .uuid(uuid)
            return
        }
        guard TextField.isAcceptable(text, allowSpaces: false) else {
            throw PortalLinksError(
                .invalidInput,
                "client ID must be a UUID or 1 to \(Self.maximumTextBytes) bytes of text without spaces or control characters")
        }
        self = .text(String(text))
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

/// Rules shared by text client IDs and display names.
enum TextField {
    static func isAcceptable(_ text: some StringProtocol, allowSpaces: Bool) -> Bool {
        let byteCount = text.utf8.count
        guard byteCount >= 1, byteCount <= ClientID.maximumTextBytes else { return false }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              !first.properties.isWhitespace, !last.properties.isWhitespace
        else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            if scalar.properties.generalCategory == .control { return false }
            return allowSpaces || !scalar.properties.isWhitespace
        }
    }
}
