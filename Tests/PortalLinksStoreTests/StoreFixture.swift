import Foundation
import Logging
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore
import PostgresNIO
import Synchronization

/// The store implementations the conformance suite runs against: SQLite always, PostgreSQL when
/// `PORTAL_LINKS_TEST_POSTGRES` names a server to create databases on (`scripts/with-postgres.sh` starts one).
enum StoreKind: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    static var allCases: [StoreKind] { TestPostgres.server == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A fresh, empty store. `reopen` gives another handle on the same data (another process's view).
    func make() async throws -> StoreFixture {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("store.sqlite").path
            return StoreFixture(store: try SQLiteLinkStore(path: path), path: path,
                                reopen: { try SQLiteLinkStore(path: path) },
                                cleanup: { try? FileManager.default.removeItem(at: directory) })
        case .postgres:
            let database = try await TestPostgres.createDatabase()
            let handles = Mutex<[PostgresLinkStore]>([])
            let open: @Sendable () async throws -> any LinkStore = {
                let store = try await PostgresLinkStore.open(location: database, logger: TestPostgres.logger)
                handles.withLock { $0.append(store) }
                return store
            }
            return StoreFixture(store: try await open(), path: database.database, reopen: open, cleanup: {
                for store in handles.withLock({ $0 }) { await store.close() }
                try? await TestPostgres.dropDatabase(database)
            })
        }
    }

    /// Runs `body` against a fresh store and removes the store afterwards, also when `body` throws.
    func withStore(_ body: (StoreFixture) async throws -> Void) async throws {
        let fixture = try await make()
        do {
            try await body(fixture)
        } catch {
            await fixture.cleanup()
            throw error
        }
        await fixture.cleanup()
    }
}

struct StoreFixture: Sendable {
    let store: any LinkStore
    /// The SQLite file, or the PostgreSQL database's name.
    let path: String
    let reopen: @Sendable () async throws -> any LinkStore
    let cleanup: @Sendable () async -> Void
}

/// The PostgreSQL server the tests may use, and a database of their own on it for each fixture, so that tests
/// run in parallel without seeing each other's data.
enum TestPostgres {
    static let server: PostgresStoreURL? = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_POSTGRES"]
        .flatMap { try? PostgresStoreURL(parsing: $0, environment: ProcessInfo.processInfo.environment) }

    static let logger: Logger = {
        var logger = Logger(label: "portal-links.store-tests")
        logger.logLevel = .warning
        return logger
    }()

    static func createDatabase() async throws -> PostgresStoreURL {
        guard let server else { throw PortalLinksError(.invalidInput, "PORTAL_LINKS_TEST_POSTGRES is not set") }
        // Hex digits only, so the name can stand in the statement: CREATE DATABASE takes no parameters.
        let name = "portal_links_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await administer(server, PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        return server.with(database: name)
    }

    static func dropDatabase(_ database: PostgresStoreURL) async throws {
        guard let server else { return }
        try await administer(server, PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database.database) WITH (FORCE)"))
    }

    /// Runs one statement on a connection of its own to `location`'s database.
    static func administer(_ location: PostgresStoreURL, _ statement: PostgresQuery) async throws {
        _ = try await rows(location, statement)
    }

    /// The rows of one query, on a connection of its own.
    static func rows(_ location: PostgresStoreURL, _ query: PostgresQuery) async throws -> [PostgresRow] {
        let connection = try await connect(location)
        do {
            let rows = try await connection.query(query, logger: logger).collect()
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The process IDs of the server's backends connected to `database` (the store's pooled connections).
    static func backends(of database: PostgresStoreURL) async throws -> [Int32] {
        guard let server else { return [] }
        return try await rows(server, "SELECT pid FROM pg_stat_activity WHERE datname = \(database.database) AND pid <> pg_backend_pid()")
            .map { try $0.decode(Int32.self) }
    }

    static func connect(_ location: PostgresStoreURL) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(host: location.host, port: location.port, username: location.user, password: location.password,
                                 database: location.database, tls: .disable),
            id: 0, logger: logger)
    }
}

enum Sample {
    static let now: Int64 = 1_800_000_000
    static let sealed: [UInt8] = Array(repeating: 9, count: 60)
    /// Shaped like a PHC string; accounts in these tests never sign in with a password.
    static let passwordHash = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

    static func rotate(_ store: any LinkStore, id: UInt32, at now: Int64 = now, emergency: Bool = false) async throws -> KeyRing {
        try await store.updateRing(actor: "tester", at: now) { ring, context in
            try ring.rotate(newID: KeyID(rawValue: id), sealedSecret: sealed, at: now,
                            lastSignedExpiry: context.primaryLastLinkExpiry, emergency: emergency)
            return [AuditEvent("key.rotate", "key \(KeyID(rawValue: id))")]
        }
    }

    static func entry(_ raw: UInt64, client: String = "acme", key: UInt32, issuedAt: Int64 = now, expiresAt: Int64,
                      maximumAccounts: Int? = nil) -> LedgerEntry {
        LedgerEntry(linkID: LinkID(rawValue: raw), clientID: try! ClientID(parsing: client), displayName: nil,
                    issuedAt: issuedAt, expiresAt: expiresAt, keyID: KeyID(rawValue: key), sentTo: ["ops@acme.example"],
                    issuedBy: "tester", maximumAccounts: maximumAccounts)
    }

    /// A key and a link to register through.
    static func link(_ store: any LinkStore, _ raw: UInt64 = 0x1000, client: String = "acme", maximumAccounts: Int? = nil) async throws -> LinkID {
        if try await store.ring().ring.primary == nil { _ = try await rotate(store, id: 1) }
        let primary = try await store.ring().ring.primary!.id
        let recording = try await store.recordIssued([entry(raw, client: client, key: primary.rawValue, expiresAt: now + 86_400,
                                                            maximumAccounts: maximumAccounts)],
                                                     signedBy: primary, actor: "tester", at: now)
        precondition(recording == IssueRecording())
        return LinkID(rawValue: raw)
    }

    static func createAccount(_ store: any LinkStore, _ email: String, link: LinkID, client: String = "acme") async throws -> AccountRecord {
        try await store.createAccount(email: EmailAddress(email)!, clientID: try ClientID(parsing: client), displayName: nil,
                                      passwordHash: passwordHash, link: link, caller: "frontend", at: now)
    }
}
