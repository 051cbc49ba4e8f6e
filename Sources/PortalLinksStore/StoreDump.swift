import PortalLinksCore

/// Everything a store holds, table by table, in one consistent read: what `migrate-store` copies from one
/// store to another and compares afterwards. Secrets stay as stored (key material sealed, passwords hashed).
public struct StoreDump: Sendable, Equatable {
    /// Rows of each table in `StoreSchema.tables`, ordered by the table's key.
    public var tables: [String: [[StoreValue]]]
    /// The highest account ID ever given (removed accounts included), so that a copy never gives one again.
    public var highestAccountID: Int64

    public init(tables: [String: [[StoreValue]]], highestAccountID: Int64) {
        self.tables = tables
        self.highestAccountID = highestAccountID
    }

    /// Rows per table, in schema order, for reports.
    public var counts: [(table: String, rows: Int)] {
        StoreSchema.tables.map { ($0.name, tables[$0.name]?.count ?? 0) }
    }
}

/// One stored value, as both stores keep it: 64-bit integers (unsigned IDs by bit pattern), text and bytes.
public enum StoreValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case bytes([UInt8])
}

/// The tables both stores share, with their columns, in the order a copy loads them.
public enum StoreSchema {
    public enum Kind: Sendable { case integer, text, bytes }

    public struct Table: Sendable {
        public let name: String
        public let columns: [(name: String, kind: Kind)]
        /// The column rows are ordered by.
        public var key: String { columns[0].name }
    }

    public static let tables: [Table] = [
        Table(name: "ring_meta", columns: [("id", .integer), ("generation", .integer), ("master_key_check", .bytes)]),
        Table(name: "keys", columns: [
            ("key_id", .integer), ("state", .text), ("state_before_disable", .text), ("created_at", .integer),
            ("promoted_at", .integer), ("retired_at", .integer), ("verifies_until", .integer), ("sealed_secret", .bytes),
        ]),
        Table(name: "revoked_links", columns: [("link_id", .integer), ("revoked_at", .integer), ("covers_until", .integer)]),
        Table(name: "revoked_clients", columns: [
            ("client_id", .text), ("revoked_before", .integer), ("revoked_at", .integer), ("covers_until", .integer),
        ]),
        Table(name: "disabled_clients", columns: [("client_id", .text), ("disabled_at", .integer)]),
        Table(name: "links", columns: [
            ("link_id", .integer), ("client_id", .text), ("display_name", .text), ("issued_at", .integer),
            ("expires_at", .integer), ("key_id", .integer), ("sent_to", .text), ("issued_by", .text), ("max_accounts", .integer),
            ("replaces", .integer),
        ]),
        Table(name: "deliveries", columns: [
            ("link_id", .integer), ("address", .text), ("state", .text), ("detail", .text), ("at", .integer),
        ]),
        Table(name: "audit", columns: [
            ("sequence", .integer), ("at", .integer), ("actor", .text), ("operation", .text), ("subject", .text),
            ("previous_hash", .bytes), ("hash", .bytes),
        ]),
        Table(name: "callers", columns: [
            ("name", .text), ("key_hash", .bytes), ("scopes", .text), ("created_at", .integer), ("revoked_at", .integer),
        ]),
        Table(name: "accounts", columns: [
            ("account_id", .integer), ("email", .text), ("client_id", .text), ("display_name", .text),
            ("password_hash", .text), ("epoch", .integer), ("epoch_changed_at", .integer), ("link_id", .integer),
            ("created_at", .integer), ("disabled_at", .integer), ("failed_attempts", .integer), ("locked_until", .integer),
            ("last_sign_in_at", .integer), ("sign_in_count", .integer),
        ]),
        Table(name: "signed_out_sessions", columns: [("session_id", .integer), ("account_id", .integer), ("kept_until", .integer)]),
        Table(name: "removed_accounts", columns: [("account_id", .integer), ("kept_until", .integer)]),
        Table(name: "activity", columns: [
            ("sequence", .integer), ("at", .integer), ("event", .text), ("account", .text), ("client_id", .text),
            ("caller", .text), ("result", .text),
        ]),
    ]

    /// Refuses a store whose tables do not have exactly the columns listed here (a newer schema, a column added
    /// by hand): a copy would drop what the list lacks. `live` gives a table's columns as the store has them.
    public static func checkColumns(against live: (String) throws -> [String]) throws {
        for table in tables {
            let listed = table.columns.map(\.name)
            let actual = try live(table.name)
            guard Set(actual) == Set(listed) else {
                throw PortalLinksError(.conflict, """
                    the store's \(table.name) table has the columns \(actual.sorted().joined(separator: ", ")), not the \
                    \(listed.sorted().joined(separator: ", ")) this release copies: use the release that made the store
                    """)
            }
        }
    }

    /// `SELECT` of a table's columns in key order.
    public static func select(_ table: Table) -> String {
        "SELECT \(table.columns.map(\.name).joined(separator: ", ")) FROM \(table.name) ORDER BY \(table.key)"
    }
}
