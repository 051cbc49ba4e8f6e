import Foundation
import GRDB
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore
import PortalLinksTesting
import PostgresNIO
import Testing

/// Schema version 4 (`OneSpelling`): what an older release stored under a second Unicode spelling becomes the
/// one spelling every entry point now uses, so that the stores' byte comparisons find it.
@Suite struct OneSpellingMigrationTests {
    @Test(arguments: StoreKind.allCases)
    func storedSpellingsBecomeOne(kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let link = try await Sample.link(fixture.store, client: "acme")
            _ = try await Sample.createAccount(fixture.store, "ana@example.com", link: link)
            // As an older release could have left it: one client under two spellings, revoked under both and
            // disabled under one; its link, account and activity under the decomposed one; an NFD email.
            try await Legacy.rollBack(kind, fixture, [
                "UPDATE links SET client_id = 'cafe\u{301}', display_name = 'Cafe\u{301} Corp'",
                "UPDATE accounts SET client_id = 'cafe\u{301}', display_name = 'Jose\u{301}', email = 'jose\u{301}@example.com'",
                "INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until) VALUES ('cafe\u{301}', 300, 300, 5000000000)",
                "INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until) VALUES ('caf\u{E9}', 100, 100, 4000000000)",
                "INSERT INTO disabled_clients (client_id, disabled_at) VALUES ('\u{212A}im', 7)",
            ])
            let store = try await fixture.reopen()
            let cafe = try ClientID(parsing: "café")
            let revocations = try await store.revocations(at: Sample.now)
            #expect(revocations.clientsRevokedBefore == [cafe: 300])
            #expect(revocations.disabledClients == [try ClientID(parsing: "Kim")])
            let entry = try #require(try await store.ledgerEntry(link))
            #expect(entry.clientID == cafe && entry.displayName?.utf8.elementsEqual("Caf\u{E9} Corp".utf8) == true)
            let email = try #require(EmailAddress("jose\u{301}@example.com"))
            let account = try #require(try await store.account(email: email))
            #expect(account.email.normalized.utf8.elementsEqual("jos\u{E9}@example.com".utf8))
            #expect(account.clientID == cafe)
            #expect(try await store.accounts(client: cafe, link: nil).count == 1)
            // Enabling under the other spelling enables the one client.
            #expect(try await store.setClient(try ClientID(parsing: "\u{212A}im"), disabled: false, actor: "tester", at: Sample.now))
            #expect(try await store.revocations(at: Sample.now).disabledClients.isEmpty)
            await store.close()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func twoAccountsWhoseEmailsBecomeOneStopTheMigration(kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let link = try await Sample.link(fixture.store)
            _ = try await Sample.createAccount(fixture.store, "jos\u{E9}@example.com", link: link)
            _ = try await Sample.createAccount(fixture.store, "other@example.com", link: link)
            try await Legacy.rollBack(kind, fixture, ["UPDATE accounts SET email = 'jose\u{301}@example.com' WHERE email = 'other@example.com'"])
            await #expect(throws: (any Error).self) { _ = try await fixture.reopen() }
        }
    }
}

/// A store a newer release migrated is refused with one message naming both schema versions, and left as it was.
@Suite struct NewerSchemaTests {
    @Test(arguments: StoreKind.allCases)
    func aStoreFromANewerReleaseIsRefused(kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            await fixture.store.close()
            switch kind {
            case .sqlite:
                let queue = try DatabaseQueue(path: fixture.path)
                try await queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9 from the future')") }
                try queue.close()
            case .postgres:
                let database = try #require(TestPostgres.server).with(database: fixture.path)
                try await TestPostgres.administer(database, "INSERT INTO schema_migrations (version, applied_at) VALUES (9, 0)")
            }
            let error = try await #require(throws: PortalLinksError.self) { _ = try await fixture.reopen() }
            #expect(error.message.contains(kind == .sqlite ? "\"v9 from the future\"" : "version 9"), "\(error.message)")
            #expect(error.message.contains(kind == .sqlite ? "\"v5 email\"" : "release's 3"), "\(error.message)")
        }
    }
}

/// migrate-store copies the columns `StoreSchema` lists; a store with others is refused rather than copied short.
@Suite struct DumpColumnsTests {
    @Test(arguments: StoreKind.allCases)
    func aColumnTheCopyDoesNotKnowIsRefused(kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.link(fixture.store)
            func dump() async throws -> StoreDump {
                if let sqlite = fixture.store as? SQLiteLinkStore { return try await sqlite.dump() }
                return try await (fixture.store as! PostgresLinkStore).dump()
            }
            #expect(try await dump().tables["links"]?.count == 1)
            let statement = "ALTER TABLE links ADD COLUMN notes TEXT"
            switch kind {
            case .sqlite:
                let queue = try DatabaseQueue(path: fixture.path)
                try await queue.write { try $0.execute(sql: statement) }
                try queue.close()
            case .postgres:
                try await TestPostgres.administer(try #require(TestPostgres.server).with(database: fixture.path),
                                                  PostgresQuery(unsafeSQL: statement))
            }
            let error = try await #require(throws: PortalLinksError.self) { _ = try await dump() }
            #expect(error.message.contains("links table") && error.message.contains("notes"), "\(error.message)")
        }
    }
}

/// Takes a store back to schema version 3 and writes rows as an older release could have.
enum Legacy {
    static func rollBack(_ kind: StoreKind, _ fixture: StoreFixture, _ statements: [String]) async throws {
        await fixture.store.close()
        switch kind {
        case .sqlite:
            let queue = try DatabaseQueue(path: fixture.path)
            try await queue.write { db in
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4 one spelling'")
                for statement in statements { try db.execute(sql: statement) }
            }
            try queue.close()
        case .postgres:
            let database = try #require(TestPostgres.server).with(database: fixture.path)
            for statement in [
                "DELETE FROM schema_migrations WHERE version = 2", "DROP INDEX accounts_by_email",
                "CREATE UNIQUE INDEX accounts_by_folded_email ON accounts (lower(email))",
            ] + statements {
                try await TestPostgres.administer(database, PostgresQuery(unsafeSQL: statement))
            }
        }
    }
}
