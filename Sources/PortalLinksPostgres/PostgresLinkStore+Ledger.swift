import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    public func recordIssued(_ links: [LedgerEntry], signedBy key: KeyID, actor: String, at now: Int64) async throws -> IssueRecording {
        try await write { connection in
            let state = try await connection.value("SELECT state FROM keys WHERE key_id = \(Int64(key.rawValue))", as: String.self)
            guard state == KeyState.primary.rawValue else { return IssueRecording(keyNoLongerPrimary: true) }
            var clashes: [LinkID] = []
            var recorded: [LedgerEntry] = []
            for link in links {
                let inserted = try await connection.run("""
                    INSERT INTO links
                        (link_id, client_id, display_name, issued_at, expires_at, key_id, sent_to, issued_by, max_accounts, replaces)
                    VALUES (\(Int64(bitPattern: link.linkID.rawValue)), \(link.clientID.description), \(link.displayName),
                            \(link.issuedAt), \(link.expiresAt), \(Int64(link.keyID.rawValue)),
                            \(link.sentTo.joined(separator: "\n")), \(link.issuedBy), \(link.maximumAccounts),
                            \(link.replaces.map { Int64(bitPattern: $0.rawValue) }))
                    ON CONFLICT (link_id) DO NOTHING RETURNING link_id
                    """)
                if inserted > 0 { recorded.append(link) } else { clashes.append(link.linkID) }
            }
            try await self.appendAudit(recorded.map { AuditEvent("link.issue", "link \($0.linkID) client \($0.clientID) key \($0.keyID)") },
                                       actor: actor, at: now, connection)
            return IssueRecording(clashes: clashes)
        }
    }

    public func ledgerEntry(_ id: LinkID) async throws -> LedgerEntry? {
        try await read { connection in
            try await connection.rows("SELECT * FROM links WHERE link_id = \(Int64(bitPattern: id.rawValue))")
                .first.map { try Self.ledgerEntry(StoredRow($0)) }
        }
    }

    public func ledgerEntries(client: ClientID?, expiringIn window: ClosedRange<Int64>?) async throws -> [LedgerEntry] {
        try await read { connection in
            try await connection.rows("""
                SELECT * FROM links
                WHERE (\(client?.description)::TEXT IS NULL OR client_id = \(client?.description))
                  AND (\(window?.lowerBound)::BIGINT IS NULL OR expires_at BETWEEN \(window?.lowerBound) AND \(window?.upperBound))
                ORDER BY issued_at DESC, link_id
                """).map { try Self.ledgerEntry(StoredRow($0)) }
        }
    }

    static func ledgerEntry(_ row: StoredRow) throws -> LedgerEntry {
        let sentTo: String = try row["sent_to"]
        return LedgerEntry(
            linkID: LinkID(rawValue: UInt64(bitPattern: try row["link_id"])),
            clientID: try clientID(try row["client_id"]),
            displayName: try row["display_name"],
            issuedAt: try row["issued_at"],
            expiresAt: try row["expires_at"],
            keyID: KeyID(rawValue: UInt32(truncatingIfNeeded: try row["key_id"] as Int64)),
            sentTo: sentTo.isEmpty ? [] : sentTo.split(separator: "\n").map(String.init),
            issuedBy: try row["issued_by"], maximumAccounts: try row["max_accounts"],
            replaces: (try row["replaces"] as Int64?).map { LinkID(rawValue: UInt64(bitPattern: $0)) })
    }
}

extension PostgresLinkStore {
    public func recordDeliveries(_ records: [DeliveryRecord], actor: String, at now: Int64) async throws {
        try await write { connection in
            for record in records {
                try await connection.run("""
                    INSERT INTO deliveries (link_id, address, state, detail, at)
                    VALUES (\(Int64(bitPattern: record.linkID.rawValue)), \(record.address), \(record.state), \(record.detail), \(record.at))
                    ON CONFLICT (link_id, address) DO UPDATE SET state = excluded.state, detail = excluded.detail, at = excluded.at
                    """)
            }
            try await self.appendAudit(records.map { AuditEvent("link.send", "link \($0.linkID) to \($0.address): \($0.state)") },
                                       actor: actor, at: now, connection)
        }
    }

    public func deliveries(link: LinkID?, client: ClientID?) async throws -> [DeliveryRecord] {
        let linkValue = link.map { Int64(bitPattern: $0.rawValue) }
        return try await read { connection in
            try await connection.rows("""
                SELECT d.* FROM deliveries d JOIN links l ON l.link_id = d.link_id
                WHERE (\(linkValue)::BIGINT IS NULL OR d.link_id = \(linkValue))
                  AND (\(client?.description)::TEXT IS NULL OR l.client_id = \(client?.description))
                ORDER BY d.link_id, d.address
                """).map { row in
                let stored = StoredRow(row)
                return DeliveryRecord(linkID: LinkID(rawValue: UInt64(bitPattern: try stored["link_id"])), address: try stored["address"],
                                      state: try stored["state"], detail: try stored["detail"], at: try stored["at"])
            }
        }
    }
}
