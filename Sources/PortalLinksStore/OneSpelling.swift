import PortalLinksCore

/// Schema version 4: every identifier already stored takes the one spelling that every entry point now gives
/// it, so that stores compare bytes and find what the token check and the in-memory tables find. Client IDs
/// and display names go to NFC; emails to `EmailAddress`'s spelling (NFC, ASCII letters lower-cased). Both
/// stores apply the same rewrites; only the SQL around them differs.
public enum OneSpelling {
    /// A stored column and the spelling its values take.
    public struct Column: Sendable {
        public let table: String
        public let column: String
        public let respell: @Sendable (String) -> String
    }

    /// Columns rewritten value by value, with no uniqueness to keep.
    public static let plainColumns: [Column] = [
        Column(table: "links", column: "client_id", respell: clientID),
        Column(table: "links", column: "display_name", respell: CanonicalText.nfc),
        Column(table: "accounts", column: "client_id", respell: clientID),
        Column(table: "accounts", column: "display_name", respell: CanonicalText.nfc),
        Column(table: "activity", column: "client_id", respell: clientID),
    ]

    /// `respell(stored)` when its bytes differ from `stored`'s, else nil. Bytes, not `String` equality: Swift
    /// compares strings by canonical equivalence, so "Cafe\u{301}" == "Café" there, which is the point.
    public static func respelled(_ stored: String, by respell: (String) -> String) -> String? {
        let new = respell(stored)
        return new.utf8.elementsEqual(stored.utf8) ? nil : new
    }

    /// The stored client ID in its one spelling; UUIDs are stored lower-case already.
    public static func clientID(_ stored: String) -> String { CanonicalText.nfc(stored) }

    /// A stored (already trimmed and lower-cased) email in its one spelling.
    public static func email(_ stored: String) -> String { EmailAddress.spelling(of: stored) }

    /// What a store says when two accounts' emails became one spelling: it cannot choose between them.
    public static func duplicateEmail(_ first: Int64, _ second: Int64) -> PortalLinksError {
        PortalLinksError(.conflict, """
            accounts \(first) and \(second) have canonically equivalent emails; remove one with the previous \
            release (portal-links accounts remove) before upgrading
            """)
    }
}
