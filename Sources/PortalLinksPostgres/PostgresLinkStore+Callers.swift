import NIOCore
import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    public func addCaller(_ caller: CallerRecord, actor: String, at now: Int64) async throws {
        try await write { connection in
            guard try await connection.run("SELECT 1 FROM callers WHERE name = \(caller.name)") == 0 else {
                throw PortalLinksError(.conflict, "a caller named '\(caller.name)' exists already")
            }
            let scopes = caller.scopes.joined(separator: ",")
            try await connection.run("""
                INSERT INTO callers (name, key_hash, scopes, created_at)
                VALUES (\(caller.name), \(ByteBuffer(bytes: caller.keyHash)), \(scopes), \(caller.createdAt))
                """)
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("caller.add", "caller \(caller.name) scopes \(scopes)")], actor: actor, at: now, connection)
        }
    }

    public func callers() async throws -> [CallerRecord] {
        try await read { connection in
            // Byte order, as SQLite sorts, whatever the database's collation.
            try await connection.rows(#"SELECT * FROM callers ORDER BY name COLLATE "C""#).map(StoredRow.init).map { row in
                let scopes: String = try row["scopes"]
                return CallerRecord(name: try row["name"], keyHash: try row.bytes("key_hash"),
                                    scopes: scopes.split(separator: ",").map(String.init), createdAt: try row["created_at"],
                                    revokedAt: try row["revoked_at"])
            }
        }
    }

    public func revokeCaller(named name: String, actor: String, at now: Int64) async throws -> Bool {
        try await write { connection in
            let revoked = try await connection.run("""
                UPDATE callers SET revoked_at = \(now) WHERE name = \(name) AND revoked_at IS NULL RETURNING name
                """)
            guard revoked > 0 else { return false }
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("caller.revoke", "caller \(name)")], actor: actor, at: now, connection)
            return true
        }
    }
}
