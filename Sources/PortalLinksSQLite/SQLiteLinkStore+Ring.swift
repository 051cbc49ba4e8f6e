import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    public func ring() async throws -> (ring: KeyRing, generation: UInt64) {
        try await read { db in
            (try Self.readRing(db), UInt64(try Int64.fetchOne(db, sql: "SELECT generation FROM ring_meta WHERE id = 1") ?? 0))
        }
    }

    public func updateRing(
        actor: String, at now: Int64,
        _ change: @Sendable (inout KeyRing, RingChangeContext) throws -> [AuditEvent]
    ) async throws -> KeyRing {
        try await write { db in
            let before = try Self.readRing(db)
            var ring = before
            let lastExpiry: Int64? = try before.primary.flatMap { primary in
                try Int64.fetchOne(db, sql: "SELECT MAX(expires_at) FROM links WHERE key_id = ?",
                                   arguments: [Int64(primary.id.rawValue)])
            }
            let events = try change(&ring, RingChangeContext(primaryLastLinkExpiry: lastExpiry))
            let changed = ring.keys.filter { before.key($0.id) != $0 }
            for key in changed {
                try Self.writeKey(key, db)
            }
            // A change that turned out to change nothing leaves the generation alone, so servers don't reload.
            if !changed.isEmpty { try self.bumpGeneration(db) }
            try self.appendAudit(events, actor: actor, at: now, db)
            return ring
        }
    }

    static func readRing(_ db: Database) throws -> KeyRing {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM keys")
        return KeyRing(keys: try rows.map(Self.keyRecord))
    }

    static func keyRecord(_ row: Row) throws -> KeyRecord {
        let rawID: Int64 = row["key_id"]
        guard let state = KeyState(rawValue: row["state"]) else {
            throw PortalLinksError(.corrupt, "key \(KeyID(rawValue: UInt32(truncatingIfNeeded: rawID))) has an unknown state")
        }
        return KeyRecord(
            id: KeyID(rawValue: UInt32(truncatingIfNeeded: rawID)),
            state: state,
            stateBeforeDisable: (row["state_before_disable"] as String?).flatMap(KeyState.init(rawValue:)),
            createdAt: row["created_at"],
            promotedAt: row["promoted_at"],
            retiredAt: row["retired_at"],
            verifiesUntil: row["verifies_until"],
            sealedSecret: (row["sealed_secret"] as Data?).map { [UInt8]($0) })
    }

    static func writeKey(_ key: KeyRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO keys
                    (key_id, state, state_before_disable, created_at, promoted_at, retired_at, verifies_until, sealed_secret)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [Int64(key.id.rawValue), key.state.rawValue, key.stateBeforeDisable?.rawValue, key.createdAt,
                        key.promotedAt, key.retiredAt, key.verifiesUntil, key.sealedSecret.map { Data($0) }])
    }
}
