import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    public func revocations(at now: Int64) async throws -> Revocations {
        try await read { db in
            var revocations = Revocations()
            let linkIDs = try Int64.fetchCursor(db, sql: "SELECT link_id FROM revoked_links WHERE covers_until >= ?", arguments: [now])
            while let raw = try linkIDs.next() {
                revocations.links.insert(LinkID(rawValue: UInt64(bitPattern: raw)))
            }
            for row in try Row.fetchAll(db, sql: "SELECT client_id, revoked_before FROM revoked_clients WHERE covers_until >= ?", arguments: [now]) {
                // Two stored spellings of one client (a store not yet migrated) refuse what either refused.
                let before: Int64 = row["revoked_before"]
                let client = try Self.clientID(row["client_id"])
                revocations.clientsRevokedBefore[client] = max(before, revocations.clientsRevokedBefore[client] ?? before)
            }
            for text in try String.fetchAll(db, sql: "SELECT client_id FROM disabled_clients") {
                revocations.disabledClients.insert(try Self.clientID(text))
            }
            return revocations
        }
    }

    public func revokeLink(_ id: LinkID, coversUntil: Int64, actor: String, at now: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO revoked_links (link_id, revoked_at, covers_until) VALUES (?, ?, ?)",
                           arguments: [Int64(bitPattern: id.rawValue), now, coversUntil])
            guard db.changesCount > 0 else { return false }
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("revoke.link", "link \(id)")], actor: actor, at: now, db)
            return true
        }
    }

    public func revokeClient(_ client: ClientID, before: Int64, linksIssuedThrough: Int64?, coversUntil: Int64,
                             actor: String, at now: Int64) async throws -> Int64 {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until) VALUES (?, ?, ?, ?)
                    ON CONFLICT (client_id) DO UPDATE SET
                        revoked_before = MAX(revoked_before, excluded.revoked_before),
                        covers_until = MAX(covers_until, excluded.covers_until),
                        revoked_at = excluded.revoked_at
                    """,
                arguments: [client.description, before, now, coversUntil])
            let inForce = try Int64.fetchOne(db, sql: "SELECT revoked_before FROM revoked_clients WHERE client_id = ?",
                                             arguments: [client.description]) ?? before
            var events = [AuditEvent("revoke.client", "client \(client) before \(inForce)")]
            if let through = linksIssuedThrough {
                let revoked = try Int64.fetchAll(db, sql: """
                    INSERT INTO revoked_links (link_id, revoked_at, covers_until)
                    SELECT link_id, ?, expires_at FROM links WHERE client_id = ? AND issued_at >= ? AND issued_at <= ?
                    ON CONFLICT DO NOTHING RETURNING link_id
                    """, arguments: [now, client.description, before, through])
                for id in revoked.sorted() {
                    events.append(AuditEvent("revoke.link", "link \(LinkID(rawValue: UInt64(bitPattern: id)))"))
                }
            }
            try self.bumpGeneration(db)
            try self.appendAudit(events, actor: actor, at: now, db)
            return inForce
        }
    }

    public func setClient(_ client: ClientID, disabled: Bool, actor: String, at now: Int64) async throws -> Bool {
        try await write { db in
            if disabled {
                try db.execute(sql: "INSERT OR IGNORE INTO disabled_clients (client_id, disabled_at) VALUES (?, ?)",
                               arguments: [client.description, now])
            } else {
                try db.execute(sql: "DELETE FROM disabled_clients WHERE client_id = ?", arguments: [client.description])
            }
            guard db.changesCount > 0 else { return false }
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent(disabled ? "client.disable" : "client.enable", "client \(client)")],
                                 actor: actor, at: now, db)
            return true
        }
    }

    public func pruneRevocations(expiredBefore cutoff: Int64, actor: String, at now: Int64) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM revoked_links WHERE covers_until < ?", arguments: [cutoff])
            var removed = db.changesCount
            try db.execute(sql: "DELETE FROM revoked_clients WHERE covers_until < ?", arguments: [cutoff])
            removed += db.changesCount
            guard removed > 0 else { return 0 }
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("revocations.prune", "\(removed) expired revocations")], actor: actor, at: now, db)
            return removed
        }
    }

    public func revocationStatus(of link: LinkID, client: ClientID) async throws -> RevocationStatus {
        try await read { db in
            RevocationStatus(
                linkRevokedAt: try Int64.fetchOne(db, sql: "SELECT revoked_at FROM revoked_links WHERE link_id = ?",
                                                  arguments: [Int64(bitPattern: link.rawValue)]),
                clientRevokedBefore: try Int64.fetchOne(db, sql: "SELECT revoked_before FROM revoked_clients WHERE client_id = ?",
                                                        arguments: [client.description]),
                clientDisabledAt: try Int64.fetchOne(db, sql: "SELECT disabled_at FROM disabled_clients WHERE client_id = ?",
                                                     arguments: [client.description]))
        }
    }
}
