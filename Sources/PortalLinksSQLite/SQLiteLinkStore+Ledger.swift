import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    public func recordIssued(_ links: [LedgerEntry], signedBy key: KeyID, actor: String, at now: Int64) async throws -> IssueRecording {
        try await write { db in
            let state = try String.fetchOne(db, sql: "SELECT state FROM keys WHERE key_id = ?", arguments: [Int64(key.rawValue)])
            guard state == KeyState.primary.rawValue else { return IssueRecording(keyNoLongerPrimary: true) }
            var clashes: [LinkID] = []
            var recorded: [LedgerEntry] = []
            for link in links {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO links
                            (link_id, client_id, display_name, issued_at, expires_at, key_id, sent_to, issued_by, max_accounts)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [Int64(bitPattern: link.linkID.rawValue), link.clientID.description, link.displayName,
                                link.issuedAt, link.expiresAt, Int64(link.keyID.rawValue),
                                link.sentTo.joined(separator: "\n"), link.issuedBy, link.maximumAccounts])
                if db.changesCount > 0 { recorded.append(link) } else { clashes.append(link.linkID) }
            }
            try self.appendAudit(recorded.map { AuditEvent("link.issue", "link \($0.linkID) client \($0.clientID) key \($0.keyID)") },
                                 actor: actor, at: now, db)
            return IssueRecording(clashes: clashes)
        }
    }

    public func ledgerEntry(_ id: LinkID) async throws -> LedgerEntry? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM links WHERE link_id = ?", arguments: [Int64(bitPattern: id.rawValue)])
                .map(Self.ledgerEntry)
        }
    }

    public func ledgerEntries(client: ClientID?, expiringIn window: ClosedRange<Int64>?) async throws -> [LedgerEntry] {
        try await read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if let client {
                conditions.append("client_id = ?")
                _ = arguments.append(contentsOf: [client.description])
            }
            if let window {
                conditions.append("expires_at BETWEEN ? AND ?")
                _ = arguments.append(contentsOf: [window.lowerBound, window.upperBound])
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM links \(filter) ORDER BY issued_at DESC, link_id", arguments: arguments)
                .map(Self.ledgerEntry)
        }
    }

    static func ledgerEntry(_ row: Row) throws -> LedgerEntry {
        let sentTo: String = row["sent_to"]
        return LedgerEntry(
            linkID: LinkID(rawValue: UInt64(bitPattern: row["link_id"])),
            clientID: try clientID(row["client_id"]),
            displayName: row["display_name"],
            issuedAt: row["issued_at"],
            expiresAt: row["expires_at"],
            keyID: KeyID(rawValue: UInt32(truncatingIfNeeded: row["key_id"] as Int64)),
            sentTo: sentTo.isEmpty ? [] : sentTo.split(separator: "\n").map(String.init),
            issuedBy: row["issued_by"], maximumAccounts: row["max_accounts"])
    }

    static func clientID(_ text: String) throws -> ClientID {
        do { return try ClientID(parsing: text) } catch { throw PortalLinksError(.corrupt, "a stored client ID is invalid") }
    }
}
