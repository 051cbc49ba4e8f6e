import NIOCore
import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    public func ring() async throws -> (ring: KeyRing, generation: UInt64) {
        try await read { connection in
            (try await Self.readRing(connection), try await Self.generation(connection))
        }
    }

    public func updateRing(
        actor: String, at now: Int64,
        _ change: @Sendable (inout KeyRing, RingChangeContext) throws -> [AuditEvent]
    ) async throws -> KeyRing {
        try await write { connection in
            let before = try await Self.readRing(connection)
            var ring = before
            var lastExpiry: Int64?
            if let primary = before.primary {
                lastExpiry = try await connection.value(
                    "SELECT MAX(expires_at) FROM links WHERE key_id = \(Int64(primary.id.rawValue))", as: Int64?.self) ?? nil
            }
            let events = try change(&ring, RingChangeContext(primaryLastLinkExpiry: lastExpiry))
            let changed = ring.keys.filter { before.key($0.id) != $0 }
            for key in changed {
                try await Self.writeKey(key, connection)
            }
            // A change that turned out to change nothing leaves the generation alone, so servers don't reload.
            if !changed.isEmpty { try await self.bumpGeneration(connection) }
            try await self.appendAudit(events, actor: actor, at: now, connection)
            return ring
        }
    }

    static func readRing(_ connection: PostgresConnection) async throws -> KeyRing {
        KeyRing(keys: try await connection.rows("SELECT * FROM keys").map { try keyRecord(StoredRow($0)) })
    }

    static func keyRecord(_ row: StoredRow) throws -> KeyRecord {
        let id = KeyID(rawValue: UInt32(truncatingIfNeeded: try row["key_id"] as Int64))
        guard let state = KeyState(rawValue: try row["state"]) else {
            throw PortalLinksError(.corrupt, "key \(id) has an unknown state")
        }
        return KeyRecord(
            id: id,
            state: state,
            stateBeforeDisable: (try row["state_before_disable"] as String?).flatMap(KeyState.init(rawValue:)),
            createdAt: try row["created_at"],
            promotedAt: try row["promoted_at"],
            retiredAt: try row["retired_at"],
            verifiesUntil: try row["verifies_until"],
            sealedSecret: try row.optionalBytes("sealed_secret"))
    }

    static func writeKey(_ key: KeyRecord, _ connection: PostgresConnection) async throws {
        try await connection.run("""
            INSERT INTO keys
                (key_id, state, state_before_disable, created_at, promoted_at, retired_at, verifies_until, sealed_secret)
            VALUES (\(Int64(key.id.rawValue)), \(key.state.rawValue), \(key.stateBeforeDisable?.rawValue), \(key.createdAt),
                    \(key.promotedAt), \(key.retiredAt), \(key.verifiesUntil), \(key.sealedSecret.map { ByteBuffer(bytes: $0) }))
            ON CONFLICT (key_id) DO UPDATE SET
                state = excluded.state, state_before_disable = excluded.state_before_disable,
                created_at = excluded.created_at, promoted_at = excluded.promoted_at, retired_at = excluded.retired_at,
                verifies_until = excluded.verifies_until, sealed_secret = excluded.sealed_secret
            """)
    }
}
