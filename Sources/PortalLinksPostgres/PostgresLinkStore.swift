import Foundation
import Logging
import PortalLinksCore
import PortalLinksStore
import PostgresNIO

/// The store for installations whose servers run on several machines: one PostgreSQL database, with exactly the
/// behaviour of `SQLiteLinkStore`. Every change is one transaction that first takes one advisory lock, so writers
/// are applied one after the other as SQLite's `BEGIN IMMEDIATE` applies them; reads take no lock and see one
/// snapshot. Every change that bumps the generation also notifies listening servers (`changeSignals()`).
///
/// The store owns a connection pool and the task that runs it: `close()` ends both.
public final class PostgresLinkStore: LinkStore {
    public let location: PostgresStoreURL
    let client: PostgresClient
    /// For the store's own messages. PostgresNIO gets none: at trace level it logs protocol messages, which
    /// carry password hashes and sealed keys.
    let logger: Logger
    let writerLockTimeoutSeconds: Int
    /// How long one store call may take once it has its connection (`withDeadline`).
    let callDeadline: Duration
    private let running: Task<Void, Never>

    /// How long connecting, TLS and authentication may take before the server counts as unreachable.
    static let connectTimeoutSeconds = 5
    /// The transaction-level advisory lock every write holds (`pg_advisory_xact_lock`), and the session-level
    /// one migrations hold. Arbitrary constants, the same in every process of the installation.
    static let writerLock: Int64 = 0x504C_5752_4954_4552
    /// How long a write waits for another writer by default, as `SQLiteLinkStore`'s busy timeout.
    public static let defaultWriterLockTimeoutSeconds = 15
    /// A call's deadline by default: the writer lock timeout and as long again, so that a writer waiting for
    /// another gets its own clear error first.
    public static func defaultCallDeadline(writerLockTimeoutSeconds: Int) -> Duration {
        .seconds(2 * writerLockTimeoutSeconds)
    }
    static let migrationLock: Int64 = 0x504C_4D49_4752_4154
    /// The NOTIFY channel of generation changes.
    static let changesChannel = "portal_links_changes"
    static let quiet = Logger(label: "portal-links.postgres.nio", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects to the store at `url`, failing within a few seconds when the server cannot be reached or the
    /// database does not exist, and brings its schema up to date.
    public static func open(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger) async throws -> PostgresLinkStore {
        try await open(location: PostgresStoreURL(parsing: url, environment: environment), logger: logger)
    }

    public static func open(location: PostgresStoreURL, logger: Logger,
                            writerLockTimeoutSeconds: Int = defaultWriterLockTimeoutSeconds,
                            callDeadline: Duration? = nil) async throws -> PostgresLinkStore {
        try await migrate(location, logger: logger)
        return PostgresLinkStore(location: location, logger: logger, writerLockTimeoutSeconds: writerLockTimeoutSeconds,
                                 callDeadline: callDeadline ?? defaultCallDeadline(writerLockTimeoutSeconds: writerLockTimeoutSeconds))
    }

    private init(location: PostgresStoreURL, logger: Logger, writerLockTimeoutSeconds: Int, callDeadline: Duration) {
        self.writerLockTimeoutSeconds = writerLockTimeoutSeconds
        self.callDeadline = callDeadline
        self.location = location
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: Self.clientTLS(location))
        configuration.options.connectTimeout = .seconds(Int64(Self.connectTimeoutSeconds))
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.quiet)
        self.client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Closes the pool's connections. Listeners from `changeSignals()` end with their consumers.
    public func close() async {
        running.cancel()
        await running.value
    }

    // MARK: Transactions

    /// One write transaction. It starts by taking the writer lock, so that a read-then-write (a ring update,
    /// the audit chain, lockout counting, a clash check, an account cap) sees every earlier writer's commit and
    /// no other writer until it ends. READ COMMITTED whatever the database's default: each later statement reads
    /// the data as of its own start, after the lock was granted, where a stricter level would keep the snapshot
    /// taken while waiting for it. COMMIT or ROLLBACK releases the lock.
    func write<T: Sendable>(deadline: Duration? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction("BEGIN ISOLATION LEVEL READ COMMITTED", deadline: deadline) { connection in
            // As long as SQLite's busy timeout, and no longer: a writer stuck behind another gets a clear error.
            try await connection.run(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = '\(writerLockTimeoutSeconds)s'"))
            do {
                try await connection.run("SELECT pg_advisory_xact_lock(\(Self.writerLock))")
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == SQLState.lockNotAvailable {
                throw PortalLinksError(.busy, """
                    another writer held the store's write lock for \(writerLockTimeoutSeconds) s; try again
                    """)
            }
            try await connection.run("SET LOCAL lock_timeout = 0")
            return try await body(connection)
        }
    }

    /// One read-only transaction over a single snapshot, so that what it reads in several statements (a ring
    /// and its generation) belongs together.
    func read<T: Sendable>(deadline: Duration? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline: deadline, body)
    }

    /// Applies completely or not at all, and throws the body's own error (PostgresNIO's `withTransaction` would
    /// wrap it). Within the store's call deadline unless given another.
    private func transaction<T: Sendable>(_ begin: PostgresQuery, deadline: Duration?,
                                          _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withPooledConnection(deadline: deadline ?? callDeadline) { connection in
                try await connection.run(begin)
                let result: T
                do {
                    result = try await body(connection)
                } catch {
                    do {
                        try await connection.run("ROLLBACK")
                    } catch {
                        // A connection in an unknown state must not go back to the pool for the next caller.
                        try? await connection.close()
                    }
                    throw error
                }
                try await connection.run("COMMIT")
                return result
            }
        } catch {
            throw Self.translated(error, location: location)
        }
    }

    /// Bumps the generation and notifies listening servers, which hear of it once the transaction commits (and
    /// never if it rolls back).
    func bumpGeneration(_ connection: PostgresConnection) async throws {
        try await connection.run("UPDATE ring_meta SET generation = generation + 1 WHERE id = 1")
        try await connection.run("SELECT pg_notify(\(Self.changesChannel), '')")
    }

    /// Appends to the hash chain after its last entry; the writer lock keeps the chain linear.
    func appendAudit(_ events: [AuditEvent], actor: String, at now: Int64, _ connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        let last = try await connection.rows("SELECT sequence, hash FROM audit ORDER BY sequence DESC LIMIT 1").first.map(StoredRow.init)
        var sequence: Int64 = try last?["sequence"] ?? 0
        var previous = try last?.bytes("hash") ?? AuditEntry.genesisHash
        for event in events {
            sequence += 1
            let entry = AuditEntry(sequence: sequence, at: now, actor: actor, event: event, previousHash: previous)
            try await connection.run("""
                INSERT INTO audit (sequence, at, actor, operation, subject, previous_hash, hash)
                VALUES (\(entry.sequence), \(entry.at), \(entry.actor), \(entry.operation), \(entry.subject),
                        \(ByteBuffer(bytes: entry.previousHash)), \(ByteBuffer(bytes: entry.hash)))
                """)
            previous = entry.hash
        }
    }

    // MARK: Master key and generation

    public func masterKeyCheck(storingIfAbsent check: [UInt8]?) async throws -> [UInt8]? {
        try await write { connection in
            let row = try await connection.rows("SELECT master_key_check FROM ring_meta WHERE id = 1").first.map(StoredRow.init)
            if let stored = try row?.optionalBytes("master_key_check") { return stored }
            guard let check else { return nil }
            try await connection.run("UPDATE ring_meta SET master_key_check = \(ByteBuffer(bytes: check)) WHERE id = 1")
            return check
        }
    }

    public func generation() async throws -> UInt64 {
        try await read { connection in try await Self.generation(connection) }
    }

    static func generation(_ connection: PostgresConnection) async throws -> UInt64 {
        UInt64(try await connection.value("SELECT generation FROM ring_meta WHERE id = 1", as: Int64.self) ?? 0)
    }

    // MARK: Audit

    public func auditEntries() async throws -> [AuditEntry] {
        try await read { connection in
            try await connection.rows("SELECT * FROM audit ORDER BY sequence").map(StoredRow.init).map { row in
                AuditEntry(sequence: try row["sequence"], at: try row["at"], actor: try row["actor"],
                           operation: try row["operation"], subject: try row["subject"],
                           previousHash: try row.bytes("previous_hash"), hash: try row.bytes("hash"))
            }
        }
    }
}
