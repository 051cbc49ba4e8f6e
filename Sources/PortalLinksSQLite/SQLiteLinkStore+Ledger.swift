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
                            (link_id, client_id, display_name, issued_at, expires_at, key_id, sent_to, issued_by, max_accounts, replaces)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [Int64(bitPattern: link.linkID.rawValue), link.clientID.description, link.displayName,
                                link.issuedAt, link.expiresAt, Int64(link.keyID.rawValue),
                                link.sentTo.joined(separator: "\n"), link.issuedBy, link.maximumAccounts,
                                link.replaces.map { Int64(bitPattern: $0.rawValue) }])
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
            issuedBy: row["issued_by"], maximumAccounts: row["max_accounts"],
            replaces: (row["replaces"] as Int64?).map { LinkID(rawValue: UInt64(bitPattern: $0)) })
    }

    static func clientID(_ text: String) throws -> ClientID {
        do { return try ClientID(parsing: text) } catch { throw PortalLinksError(.corrupt, "a stored client ID is invalid") }
    }
}

extension SQLiteLinkStore {
    public func recordDeliveries(_ records: [DeliveryRecord], actor: String, at now: Int64) async throws {
        try await write { db in
            for record in records {
                try db.execute(
                    sql: """
                        INSERT INTO deliveries (link_id, address, state, detail, at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (link_id, address) DO UPDATE SET state = excluded.state, detail = excluded.detail, at = excluded.at
                        """,
                    arguments: [Int64(bitPattern: record.linkID.rawValue), record.address, record.state, record.detail, record.at])
            }
            try self.appendAudit(records.map { AuditEvent("link.send", "link \($0.linkID) to \($0.address): \($0.state)") },
                                 actor: actor, at: now, db)
        }
    }

    public func deliveries(link: LinkID?, client: ClientID?) async throws -> [DeliveryRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.* FROM deliveries d JOIN links l ON l.link_id = d.link_id
                WHERE (?1 IS NULL OR d.link_id = ?1) AND (?2 IS NULL OR l.client_id = ?2)
                ORDER BY d.link_id, d.address
                """, arguments: [link.map { Int64(bitPattern: $0.rawValue) }, client?.description])
            .map { row in
                DeliveryRecord(linkID: LinkID(rawValue: UInt64(bitPattern: row["link_id"])), address: row["address"],
                               state: row["state"], detail: row["detail"], at: row["at"])
            }
        }
    }
}
