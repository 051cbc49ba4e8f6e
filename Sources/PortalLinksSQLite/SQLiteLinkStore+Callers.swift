import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    public func addCaller(_ caller: CallerRecord, actor: String, at now: Int64) async throws {
        try await write { db in
            let taken = try Bool.fetchOne(db, sql: "SELECT 1 FROM callers WHERE name = ?", arguments: [caller.name]) ?? false
            guard !taken else { throw PortalLinksError(.conflict, "a caller named '\(caller.name)' exists already") }
            try db.execute(
                sql: "INSERT INTO callers (name, key_hash, scopes, created_at) VALUES (?, ?, ?, ?)",
                arguments: [caller.name, Data(caller.keyHash), caller.scopes.joined(separator: ","), caller.createdAt])
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("caller.add", "caller \(caller.name) scopes \(caller.scopes.joined(separator: ","))")],
                                 actor: actor, at: now, db)
        }
    }

    public func callers() async throws -> [CallerRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM callers ORDER BY name").map { row in
                let scopes: String = row["scopes"]
                return CallerRecord(name: row["name"], keyHash: [UInt8](row["key_hash"] as Data),
                                    scopes: scopes.split(separator: ",").map(String.init), createdAt: row["created_at"],
                                    revokedAt: row["revoked_at"])
            }
        }
    }

    public func revokeCaller(named name: String, actor: String, at now: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE callers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [now, name])
            guard db.changesCount > 0 else { return false }
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("caller.revoke", "caller \(name)")], actor: actor, at: now, db)
            return true
        }
    }
}
