import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

/// The embedded default store: one SQLite file in WAL mode with `synchronous = FULL`, so that a key or
/// revocation change that returned is on disk. Several processes may share the file; SQLite's locks and
/// `BEGIN IMMEDIATE` serialise writers.
public final class SQLiteLinkStore: LinkStore {
    let pool: DatabasePool

    /// The store's file in an installation's home, where `portal-links` keeps it unless `--store` says otherwise.
    public static let fileName = "portal-links.sqlite"

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws {
        do {
            try Self.preparePrivateFile(at: path)
            var configuration = Configuration()
            configuration.busyMode = .timeout(15)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // Opening the pool switches the file to WAL mode and sets the writer back to NORMAL, which syncs at
            // checkpoints only: a write answered as done could be lost with the machine. Every commit is synced.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.refuseNewerSchema(pool, path: path)
            try Self.migrator.migrate(pool)
        } catch {
            throw SQLiteStoreError.translated(error)
        }
    }

    /// Opens (creating if needed, with the directory, mode 0700) the store file in the installation home `home`.
    public convenience init(home: String) throws {
        try InstallationHome.createIfMissing(home)
        try self.init(path: (home as NSString).appendingPathComponent(Self.fileName))
    }

    /// A store a newer release has migrated holds tables and rows this release does not know how to keep
    /// consistent: refused, naming both schema versions, rather than written to.
    private static func refuseNewerSchema(_ pool: DatabasePool, path: String) throws {
        let known = migrator.migrations
        let applied = try pool.read { try migrator.appliedIdentifiers($0) }
        let unknown = applied.subtracting(known).sorted()
        guard let newest = unknown.last else { return }
        throw PortalLinksError(.conflict, """
            the store \(path) has schema version "\(newest)", newer than this release's "\(known.last ?? "none")": \
            use the release that migrated it, or a newer one
            """)
    }

    /// One `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two writers never both read
    /// and then fail to upgrade.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw SQLiteStoreError.translated(error)
        }
    }

    /// One read over a single snapshot.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw SQLiteStoreError.translated(error)
        }
    }

    func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: "UPDATE ring_meta SET generation = generation + 1 WHERE id = 1")
    }

    func appendAudit(_ events: [AuditEvent], actor: String, at now: Int64, _ db: Database) throws {
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
        try await read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT generation FROM ring_meta WHERE id = 1") ?? 0)
        }
    }

    // MARK: Audit

    public func auditEntries() async throws -> [AuditEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY sequence").map { row in
                AuditEntry(sequence: row["sequence"], at: row["at"], actor: row["actor"], operation: row["operation"],
                           subject: row["subject"], previousHash: [UInt8](row["previous_hash"] as Data),
                           hash: [UInt8](row["hash"] as Data))
            }
        }
    }
}
