import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    public func revocations(at now: Int64) async throws -> Revocations {
        try await read { connection in
            var revocations = Revocations()
            for row in try await connection.rows("SELECT link_id FROM revoked_links WHERE covers_until >= \(now)") {
                revocations.links.insert(LinkID(rawValue: UInt64(bitPattern: try row.decode(Int64.self))))
            }
            for row in try await connection.rows("SELECT client_id, revoked_before FROM revoked_clients WHERE covers_until >= \(now)") {
                let (client, before) = try row.decode((String, Int64).self)
                // Two stored spellings of one client (a store not yet migrated) refuse what either refused.
                let id = try Self.clientID(client)
                revocations.clientsRevokedBefore[id] = max(before, revocations.clientsRevokedBefore[id] ?? before)
            }
            for row in try await connection.rows("SELECT client_id FROM disabled_clients") {
                revocations.disabledClients.insert(try Self.clientID(try row.decode(String.self)))
            }
            return revocations
        }
    }

    public func revokeLink(_ id: LinkID, coversUntil: Int64, actor: String, at now: Int64) async throws -> Bool {
        try await write { connection in
            let inserted = try await connection.run("""
                INSERT INTO revoked_links (link_id, revoked_at, covers_until) VALUES (\(Int64(bitPattern: id.rawValue)), \(now), \(coversUntil))
                ON CONFLICT (link_id) DO NOTHING RETURNING link_id
                """)
            guard inserted > 0 else { return false }
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("revoke.link", "link \(id)")], actor: actor, at: now, connection)
            return true
        }
    }

    public func revokeClient(_ client: ClientID, before: Int64, linksIssuedThrough: Int64?, coversUntil: Int64,
                             actor: String, at now: Int64) async throws -> Int64 {
        try await write { connection in
            // The window only widens: a later call with an earlier cut-off or shorter cover keeps the wider one.
            let inForce = try await connection.value("""
                INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until)
                VALUES (\(client.description), \(before), \(now), \(coversUntil))
                ON CONFLICT (client_id) DO UPDATE SET
                    revoked_before = GREATEST(revoked_clients.revoked_before, excluded.revoked_before),
                    covers_until = GREATEST(revoked_clients.covers_until, excluded.covers_until),
                    revoked_at = excluded.revoked_at
                RETURNING revoked_before
                """, as: Int64.self) ?? before
            var events = [AuditEvent("revoke.client", "client \(client) before \(inForce)")]
            if let through = linksIssuedThrough {
                let revoked = try await connection.rows("""
                    INSERT INTO revoked_links (link_id, revoked_at, covers_until)
                    SELECT link_id, \(now), expires_at FROM links
                    WHERE client_id = \(client.description) AND issued_at >= \(before) AND issued_at <= \(through)
                    ON CONFLICT (link_id) DO NOTHING RETURNING link_id
                    """)
                for id in try revoked.map({ try $0.decode(Int64.self) }).sorted() {
                    events.append(AuditEvent("revoke.link", "link \(LinkID(rawValue: UInt64(bitPattern: id)))"))
                }
            }
            try await self.bumpGeneration(connection)
            try await self.appendAudit(events, actor: actor, at: now, connection)
            return inForce
        }
    }

    public func setClient(_ client: ClientID, disabled: Bool, actor: String, at now: Int64) async throws -> Bool {
        try await write { connection in
            let changed = disabled
                ? try await connection.run("""
                    INSERT INTO disabled_clients (client_id, disabled_at) VALUES (\(client.description), \(now))
                    ON CONFLICT (client_id) DO NOTHING RETURNING client_id
                    """)
                : try await connection.run("DELETE FROM disabled_clients WHERE client_id = \(client.description) RETURNING client_id")
            guard changed > 0 else { return false }
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent(disabled ? "client.disable" : "client.enable", "client \(client)")],
                                       actor: actor, at: now, connection)
            return true
        }
    }

    public func pruneRevocations(expiredBefore cutoff: Int64, actor: String, at now: Int64) async throws -> Int {
        try await write { connection in
            let removed = try await connection.run("DELETE FROM revoked_links WHERE covers_until < \(cutoff) RETURNING link_id")
                + (try await connection.run("DELETE FROM revoked_clients WHERE covers_until < \(cutoff) RETURNING client_id"))
            guard removed > 0 else { return 0 }
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("revocations.prune", "\(removed) expired revocations")], actor: actor, at: now, connection)
            return removed
        }
    }

    public func revocationStatus(of link: LinkID, client: ClientID) async throws -> RevocationStatus {
        try await read { connection in
            RevocationStatus(
                linkRevokedAt: try await connection.value(
                    "SELECT revoked_at FROM revoked_links WHERE link_id = \(Int64(bitPattern: link.rawValue))", as: Int64.self),
                clientRevokedBefore: try await connection.value(
                    "SELECT revoked_before FROM revoked_clients WHERE client_id = \(client.description)", as: Int64.self),
                clientDisabledAt: try await connection.value(
                    "SELECT disabled_at FROM disabled_clients WHERE client_id = \(client.description)", as: Int64.self))
        }
    }

    static func clientID(_ text: String) throws -> ClientID {
        do { return try ClientID(parsing: text) } catch { throw PortalLinksError(.corrupt, "a stored client ID is invalid") }
    }
}
