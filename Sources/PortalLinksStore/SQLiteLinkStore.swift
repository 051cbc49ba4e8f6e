import Foundation
import GRDB
import PortalLinksCore

/// The embedded default store: one SQLite file in WAL mode with `synchronous = FULL`, so that a key or
/// revocation change that returned is on disk. Several processes may share the file; SQLite's locks and
/// `BEGIN IMMEDIATE` serialise writers.
public final class SQLiteLinkStore: LinkStore {
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(15)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE ring_meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    generation INTEGER NOT NULL,
                    master_key_check BLOB
                );
                INSERT INTO ring_meta (id, generation) VALUES (1, 0);
                CREATE TABLE keys (
                    key_id INTEGER PRIMARY KEY,
                    state TEXT NOT NULL,
                    state_before_disable TEXT,
                    created_at INTEGER NOT NULL,
                    promoted_at INTEGER,
                    retired_at INTEGER,
                    verifies_until INTEGER,
                    sealed_secret BLOB
                );
                CREATE TABLE revoked_links (
                    link_id INTEGER PRIMARY KEY,
                    revoked_at INTEGER NOT NULL,
                    covers_until INTEGER NOT NULL
                );
                CREATE TABLE revoked_clients (
                    client_id TEXT PRIMARY KEY,
                    revoked_before INTEGER NOT NULL,
                    revoked_at INTEGER NOT NULL,
                    covers_until INTEGER NOT NULL
                );
                CREATE TABLE disabled_clients (
                    client_id TEXT PRIMARY KEY,
                    disabled_at INTEGER NOT NULL
                );
                CREATE TABLE links (
                    link_id INTEGER PRIMARY KEY,
                    client_id TEXT NOT NULL,
                    display_name TEXT,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    key_id INTEGER NOT NULL,
                    sent_to TEXT NOT NULL,
                    issued_by TEXT NOT NULL
                );
                CREATE INDEX links_by_client ON links (client_id, issued_at);
                CREATE INDEX links_by_expiry ON links (expires_at);
                CREATE INDEX links_by_key ON links (key_id, expires_at);
                CREATE TABLE audit (
                    sequence INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    previous_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                """)
        }
        return migrator
    }

    // MARK: Transactions

    /// One `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two writers never both read
    /// and then fail to upgrade.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    private func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: "UPDATE ring_meta SET generation = generation + 1 WHERE id = 1")
    }

    private func appendAudit(_ events: [AuditEvent], actor: String, at now: Int64, _ db: Database) throws {
        guard !events.isEmpty else { return }
        let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit ORDER BY sequence DESC LIMIT 1")
        var sequence: Int64 = last?["sequence"] ?? 0
        var previous: [UInt8] = (last?["hash"] as Data?).map { [UInt8]($0) } ?? AuditEntry.genesisHash
        for event in events {
            sequence += 1
            let entry = AuditEntry(sequence: sequence, at: now, actor: actor, event: event, previousHash: previous)
            try db.execute(
                sql: "INSERT INTO audit (sequence, at, actor, operation, subject, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [entry.sequence, entry.at, entry.actor, entry.operation, entry.subject,
                            Data(entry.previousHash), Data(entry.hash)])
            previous = entry.hash
        }
    }

    // MARK: Master key and generation

    public func masterKeyCheck(storingIfAbsent check: [UInt8]?) async throws -> [UInt8]? {
        try await write { db in
            if let stored = try Data.fetchOne(db, sql: "SELECT master_key_check FROM ring_meta WHERE id = 1") {
                return [UInt8](stored)
            }
            guard let check else { return nil }
            try db.execute(sql: "UPDATE ring_meta SET master_key_check = ? WHERE id = 1", arguments: [Data(check)])
            return check
        }
    }

    public func generation() async throws -> UInt64 {
        try await pool.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT generation FROM ring_meta WHERE id = 1") ?? 0)
        }
    }

    // MARK: Ring

    public func ring() async throws -> (ring: KeyRing, generation: UInt64) {
        try await pool.read { db in
            (try Self.readRing(db), UInt64(try Int64.fetchOne(db, sql: "SELECT generation FROM ring_meta WHERE id = 1") ?? 0))
        }
    }

    public func updateRing(
        actor: String, at now: Int64,
        _ change: @Sendable (inout KeyRing, RingChangeContext) throws -> [AuditEvent]
    ) async throws -> KeyRing {
        try await pool.writeWithoutTransaction { db in
            var written: KeyRing?
            try db.inTransaction(.immediate) {
                let before = try Self.readRing(db)
                var ring = before
                let lastExpiry: Int64? = try before.primary.flatMap { primary in
                    try Int64.fetchOne(db, sql: "SELECT MAX(expires_at) FROM links WHERE key_id = ?",
                                       arguments: [Int64(primary.id.rawValue)])
                }
                let events = try change(&ring, RingChangeContext(primaryLastLinkExpiry: lastExpiry))
                for key in ring.keys where before.key(key.id) != key {
                    try Self.writeKey(key, db)
                }
                try self.bumpGeneration(db)
                try self.appendAudit(events, actor: actor, at: now, db)
                written = ring
                return .commit
            }
            return written!
        }
    }

    static func readRing(_ db: Database) throws -> KeyRing {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM keys")
        return KeyRing(keys: try rows.map(Self.keyRecord))
    }

    static func keyRecord(_ row: Row) throws -> KeyRecord {
        let rawID: Int64 = row["key_id"]
        guard let state = KeyState(rawValue: row["state"]) else {
            throw StoreError(.corrupt, "key \(KeyID(rawValue: UInt32(truncatingIfNeeded: rawID))) has an unknown state")
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

    // MARK: Revocation

    public func revocations(at now: Int64) async throws -> Revocations {
        try await pool.read { db in
            var revocations = Revocations()
            let linkIDs = try Int64.fetchCursor(db, sql: "SELECT link_id FROM revoked_links WHERE covers_until >= ?", arguments: [now])
            while let raw = try linkIDs.next() {
                revocations.links.insert(LinkID(rawValue: UInt64(bitPattern: raw)))
            }
            for row in try Row.fetchAll(db, sql: "SELECT client_id, revoked_before FROM revoked_clients WHERE covers_until >= ?", arguments: [now]) {
                revocations.clientsRevokedBefore[try Self.clientID(row["client_id"])] = row["revoked_before"]
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

    public func revokeClient(_ client: ClientID, before: Int64, coversUntil: Int64, actor: String, at now: Int64) async throws -> Int64 {
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
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("revoke.client", "client \(client) before \(inForce)")], actor: actor, at: now, db)
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
        try await pool.read { db in
            RevocationStatus(
                linkRevokedAt: try Int64.fetchOne(db, sql: "SELECT revoked_at FROM revoked_links WHERE link_id = ?",
                                                  arguments: [Int64(bitPattern: link.rawValue)]),
                clientRevokedBefore: try Int64.fetchOne(db, sql: "SELECT revoked_before FROM revoked_clients WHERE client_id = ?",
                                                        arguments: [client.description]),
                clientDisabledAt: try Int64.fetchOne(db, sql: "SELECT disabled_at FROM disabled_clients WHERE client_id = ?",
                                                     arguments: [client.description]))
        }
    }

    // MARK: Ledger

    public func recordIssued(_ links: [LedgerEntry], actor: String, at now: Int64) async throws -> [LinkID] {
        try await write { db in
            var clashes: [LinkID] = []
            var recorded: [LedgerEntry] = []
            for link in links {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO links
                            (link_id, client_id, display_name, issued_at, expires_at, key_id, sent_to, issued_by)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [Int64(bitPattern: link.linkID.rawValue), link.clientID.description, link.displayName,
                                link.issuedAt, link.expiresAt, Int64(link.keyID.rawValue),
                                link.sentTo.joined(separator: "\n"), link.issuedBy])
                guard db.changesCount > 0 else {
                    clashes.append(link.linkID)
                    continue
                }
                recorded.append(link)
                // A rotation may have retired the signing key while this link was being signed: keep that key
                // verifying until this link expires too.
                try db.execute(
                    sql: "UPDATE keys SET verifies_until = MAX(verifies_until, ?) WHERE key_id = ? AND verifies_until IS NOT NULL",
                    arguments: [link.expiresAt, Int64(link.keyID.rawValue)])
            }
            try self.appendAudit(recorded.map { AuditEvent("link.issue", "link \($0.linkID) client \($0.clientID) key \($0.keyID)") },
                                 actor: actor, at: now, db)
            return clashes
        }
    }

    public func ledgerEntry(_ id: LinkID) async throws -> LedgerEntry? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM links WHERE link_id = ?", arguments: [Int64(bitPattern: id.rawValue)])
                .map(Self.ledgerEntry)
        }
    }

    public func ledgerEntries(client: ClientID?, expiringIn window: ClosedRange<Int64>?) async throws -> [LedgerEntry] {
        try await pool.read { db in
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
            issuedBy: row["issued_by"])
    }

    static func clientID(_ text: String) throws -> ClientID {
        do { return try ClientID(parsing: text) } catch { throw StoreError(.corrupt, "a stored client ID is invalid") }
    }

    // MARK: Audit

    public func auditEntries() async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY sequence").map { row in
                AuditEntry(sequence: row["sequence"], at: row["at"], actor: row["actor"], operation: row["operation"],
                           subject: row["subject"], previousHash: [UInt8](row["previous_hash"] as Data),
                           hash: [UInt8](row["hash"] as Data))
            }
        }
    }
}
