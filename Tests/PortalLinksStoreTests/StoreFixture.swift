import Foundation
import Logging
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore
import PortalLinksTesting
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
