import Foundation
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksStore
import PortalLinksTesting
import PostgresNIO
import Testing

/// What only the PostgreSQL store has: its URL, connecting and failing to, migrations, the unique index on the
/// email's bytes, and a listener that survives losing its connection. Tests that need a server run when
/// `PORTAL_LINKS_TEST_POSTGRES` is set; the others always.
@Suite struct PostgresStoreTests {
    static let password = "s3cret-Pa55word"
    static let hasServer = TestPostgres.server != nil
    /// What "at once" may take while the whole suite shares two cores (hashing tests hold the cooperative
    /// threads, 16 s once with every suite in one run); alone it takes milliseconds. The point is that nothing
    /// waits for a pool's minute of retries; the messages tell a refusal from the 5-second connect timeout.
    static let atOnce = Duration.seconds(30)

    // MARK: URL

    @Test func urlsParseWithPercentDecodingDefaultsAndPasswordFromTheEnvironment() throws {
        let full = try PostgresStoreURL(parsing: "postgresql://app%40ops:p%2Fss%3Aword@db.example.com:6543/portal%5Flinks?sslmode=require")
        #expect(full == PostgresStoreURL(user: "app@ops", password: "p/ss:word", host: "db.example.com", port: 6543,
                                         database: "portal_links", sslMode: .require))
        #expect(full.description == "postgres://app@ops@db.example.com:6543/portal_links", "never the password")

        let short = try PostgresStoreURL(parsing: "postgres://portal@localhost/links", environment: ["PGPASSWORD": "from-env"])
        #expect(short == PostgresStoreURL(user: "portal", password: "from-env", host: "localhost", port: 5432, database: "links", sslMode: .prefer))
        #expect(try PostgresStoreURL(parsing: "postgres://u:@[::1]:5433/db?sslmode=disable", environment: ["PGPASSWORD": "x"])
                == PostgresStoreURL(user: "u", password: "", host: "::1", port: 5433, database: "db", sslMode: .disable))
        #expect(try PostgresStoreURL(parsing: "postgres://u:p@w@h/db").password == "p@w", "the last @ ends the user information")
        #expect(try PostgresStoreURL(parsing: "POSTGRES://u@h/db?sslmode=verify-full").sslMode == .verifyFull)
        let verified = try PostgresStoreURL(parsing: "postgres://u@h/db?sslmode=verify-full&sslrootcert=/etc/pki/db%20ca.pem")
        #expect(verified.sslMode == .verifyFull && verified.rootCertificateFile == "/etc/pki/db ca.pem")
        for refused in ["postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem", "postgres://u@h/db?sslrootcert=",
                        "postgres://u@h/db?sslmode=verify-full&sslcert=/c.pem"] {
            #expect(throws: PortalLinksError.self) { _ = try PostgresStoreURL(parsing: refused) }
        }
    }

    @Test(arguments: [
        "mysql://u@h/db", "postgres://h/db", "postgres://u:\(password)@/db", "postgres://u:\(password)@h",
        "postgres://u:\(password)@h/", "postgres://u:\(password)@h:0/db", "postgres://u:\(password)@h:port/db",
        "postgres://u:\(password)@h/db/more", "postgres://u:\(password)@h/db?sslmode=sometimes",
        "postgres://u:\(password)@h/db?application_name=x", "postgres://u:p%zz@h/db", "postgres://u:\(password)@[::1/db",
    ])
    func malformedURLsAreInvalidInputOnOneLineWithoutThePassword(_ url: String) throws {
        let error = try #require(throws: PortalLinksError.self) { try PostgresStoreURL(parsing: url) }
        #expect(error.code == .invalidInput)
        #expect(!error.message.contains(Self.password) && !error.message.contains("%zz") && !error.message.contains("\n"))
    }

    // MARK: Failing to connect

    @Test func anUnreachablePortFailsAtOnceNamingTheServerButNotThePassword() async throws {
        let port = try Self.freePort()
        let start = ContinuousClock.now
        let error = try await #require(throws: PortalLinksError.self) {
            _ = try await PostgresLinkStore.open(url: "postgres://portal:\(Self.password)@127.0.0.1:\(port)/portal_links", logger: TestPostgres.logger)
        }
        #expect(ContinuousClock.now - start < Self.atOnce)
        #expect(error.code == .unavailable)
        #expect(error.message == "cannot connect to PostgreSQL at 127.0.0.1:\(port)/portal_links: connection refused")
        #expect(!error.message.contains(Self.password))
    }

    @Test func aServerThatNeverAnswersIsGivenUpWithinTheConnectTimeout() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let start = ContinuousClock.now
        let error = try await #require(throws: PortalLinksError.self) {
            _ = try await PostgresLinkStore.open(url: "postgres://portal:\(Self.password)@127.0.0.1:\(silent.port)/portal_links?sslmode=disable",
                                                 logger: TestPostgres.logger)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .seconds(4) && elapsed < .seconds(5) + Self.atOnce, "gave up after \(elapsed)")
        #expect(error.code == .unavailable)
        #expect(error.message.contains("127.0.0.1:\(silent.port)/portal_links") && error.message.contains("no answer within 5 seconds"))
        #expect(!error.message.contains(Self.password))
    }

    @Test(.enabled(if: hasServer)) func aMissingDatabaseFailsAtOnceNamingItButNotThePassword() async throws {
        let server = try #require(TestPostgres.server)
        var missing = server.with(database: "portal_links_missing_\(UInt32.random(in: 0...UInt32.max))")
        missing.password = Self.password
        let start = ContinuousClock.now
        let error = try await #require(throws: PortalLinksError.self) {
            _ = try await PostgresLinkStore.open(location: missing, logger: TestPostgres.logger)
        }
        #expect(ContinuousClock.now - start < Self.atOnce)
        #expect(error.code == .unavailable)
        #expect(error.message == "PostgreSQL at \(missing.serverDescription): the database '\(missing.database)' does not exist")
        #expect(!error.message.contains(Self.password))
    }

    @Test(.enabled(if: hasServer)) func aClosedStoreRefusesAsUnavailable() async throws {
        try await StoreKind.postgres.withStore { fixture in
            let store = try await fixture.reopen()
            await store.close()
            let error = try await #require(throws: PortalLinksError.self) { _ = try await store.generation() }
            #expect(error.code == .unavailable)
            #expect(try await fixture.store.generation() == 0, "other handles carry on")
        }
    }

    @Test(.enabled(if: hasServer)) func connectionsTheServerCutsFailOperationsPromptlyNeverHangingThem() async throws {
        try await StoreKind.postgres.withStore { fixture in
            let server = try #require(TestPostgres.server)
            for _ in 0..<10 {
                // Some pooled connections, then the server cuts them all; the pool hears of it a moment later.
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<3 { group.addTask { _ = try? await fixture.store.generation() } }
                }
                try await TestPostgres.administer(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(fixture.path)")
                let start = ContinuousClock.now
                for _ in 0..<4 { _ = try? await fixture.store.generation() }
                #expect(ContinuousClock.now - start < Self.atOnce, "each operation failed or succeeded at once")
            }
            #expect(try await fixture.store.generation() == 0, "and the store carries on with new connections")
        }
    }

    @Test(.enabled(if: hasServer)) func operationsDuringAnOutageFailWithinTheWaitLimitAndTheStoreRecovers() async throws {
        try await StoreKind.postgres.withStore { fixture in
            let server = try #require(TestPostgres.server)
            let store = fixture.store
            #expect(try await store.generation() == 0)
            // The database refuses new connections and loses the ones it had, as in a restart that takes a while.
            try await TestPostgres.administer(server, PostgresQuery(unsafeSQL: "ALTER DATABASE \(fixture.path) ALLOW_CONNECTIONS false"))
            try await TestPostgres.administer(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(fixture.path)")
            // Operations on connections the pool still holds fail at once; once it holds none, an operation waits
            // for a new one up to the limit.
            var waited = Duration.zero
            var refusal: PortalLinksError?
            for _ in 0..<5 where waited < .seconds(5) {
                let start = ContinuousClock.now
                refusal = try await #require(throws: PortalLinksError.self) {
                    _ = try await store.revokeLink(LinkID(rawValue: 1), coversUntil: Sample.now + 60, actor: "t", at: Sample.now)
                }
                waited = ContinuousClock.now - start
            }
            #expect(waited >= .seconds(5) && waited < .seconds(6) + Self.atOnce, "gave up after \(waited)")
            #expect(refusal?.code == .unavailable && refusal?.message.contains(fixture.path) == true)

            try await TestPostgres.administer(server, PostgresQuery(unsafeSQL: "ALTER DATABASE \(fixture.path) ALLOW_CONNECTIONS true"))
            let back = ContinuousClock.now
            while (try? await store.generation()) == nil && ContinuousClock.now - back < .seconds(15) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await store.revokeLink(LinkID(rawValue: 1), coversUntil: Sample.now + 60, actor: "t", at: Sample.now),
                    "the refused change was not applied, and applies now")
        }
    }

    /// A server that stops answering without closing its connections (a frozen host, a partition; here its
    /// backends are stopped with SIGSTOP): a read or a write on a connection the pool already holds fails
    /// within the call deadline with `unavailable`, the write is not applied, and the store carries on.
    @Test(.enabled(if: hasServer)) func callsToAServerThatStopsAnsweringFailWithinTheDeadlineApplyingNothing() async throws {
        let database = try await TestPostgres.createDatabase()
        let store = try await PostgresLinkStore.open(location: database, logger: TestPostgres.logger, callDeadline: .seconds(2))
        let revoke: @Sendable () async throws -> Bool = { try await store.revokeLink(LinkID(rawValue: 7), coversUntil: Sample.now + 60, actor: "t", at: Sample.now) }
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("read", { _ = try await store.generation() }),
            ("write", { _ = try await revoke() }),
        ]
        do {
            for (name, call) in calls {
                _ = try await store.generation()  // the pool holds a connection
                let frozen = try await TestPostgres.backends(of: database)
                #expect(!frozen.isEmpty)
                for pid in frozen { kill(pid, SIGSTOP) }
                defer { for pid in frozen { kill(pid, SIGCONT) } }
                let start = ContinuousClock.now
                let error = try await #require(throws: PortalLinksError.self, "\(name)") { try await call() }
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .seconds(2) && elapsed < .seconds(2) + Self.atOnce, "\(name) gave up after \(elapsed)")
                #expect(error.code == .unavailable)
                #expect(error.message == "PostgreSQL at \(database.serverDescription) is unavailable: the call did not finish within 2 seconds")
            }
            #expect(try await revoke(), "the write cut by the deadline was not applied, and applies now")
            #expect(try await store.generation() == 1)
        } catch {
            Issue.record(error)
        }
        await store.close()
        try await TestPostgres.dropDatabase(database)
    }

    // MARK: TLS

    /// The CA that signed the test server's certificate (for 127.0.0.1; it listens on 127.0.0.2 too), made by
    /// with-postgres.sh.
    static let testCA = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_POSTGRES_CA"]

    /// verify-full connects only to a server whose certificate chains to the given CA and names the host it was
    /// asked for, and its connections are encrypted; require encrypts whatever the certificate.
    @Test(.enabled(if: hasServer && testCA != nil)) func verifyFullChecksTheCertificateAndRequireOnlyEncrypts() async throws {
        let ca = try #require(Self.testCA)
        let database = try await TestPostgres.createDatabase()
        let url = { (host: String, parameters: String) in
            "postgres://\(database.user)@\(host):\(database.port)/\(database.database)?\(parameters)"
        }
        do {
            for parameters in ["sslmode=verify-full&sslrootcert=\(ca)", "sslmode=require"] {
                let store = try await PostgresLinkStore.open(url: url("127.0.0.1", parameters), logger: TestPostgres.logger)
                #expect(try await store.generation() == 0, "\(parameters)")
                let encrypted = try await TestPostgres.rows(try #require(TestPostgres.server), """
                    SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE a.datname = \(database.database)
                    """).first?.decode(Bool?.self) ?? nil
                #expect(encrypted == true, "\(parameters): every connection of the store is encrypted")
                await store.close()
            }
            // Refused, each with its reason: the system's roots do not include the test CA; the certificate names
            // 127.0.0.1, not 127.0.0.2 (where the server listens too); a CA file that is not there.
            let missing = "/nonexistent/portal-links-ca.pem"
            for (host, parameters, reason) in [
                ("127.0.0.1", "sslmode=verify-full",
                 "the server's certificate is not signed by a trusted CA (sslrootcert, or the system's roots without it)"),
                ("127.0.0.2", "sslmode=verify-full&sslrootcert=\(ca)", "the server's certificate does not name the host connected to"),
                ("127.0.0.1", "sslmode=verify-full&sslrootcert=\(missing)", "sslrootcert \(missing) holds no readable PEM certificate"),
            ] {
                let error = try await #require(throws: PortalLinksError.self, "\(host) \(parameters)") {
                    _ = try await PostgresLinkStore.open(url: url(host, parameters), logger: TestPostgres.logger)
                }
                #expect(error.code == .unavailable)
                #expect(error.message == "cannot connect to PostgreSQL at \(host):\(database.port)/\(database.database): \(reason)")
            }
        } catch {
            Issue.record(error)
        }
        try await TestPostgres.dropDatabase(database)
    }

    // MARK: Schema

    @Test(.enabled(if: hasServer)) func serversStartingTogetherMigrateOnce() async throws {
        let database = try await TestPostgres.createDatabase()
        var stores: [PostgresLinkStore] = []
        do {
            stores = try await withThrowingTaskGroup(of: PostgresLinkStore.self) { group in
                for _ in 0..<6 { group.addTask { try await PostgresLinkStore.open(location: database, logger: TestPostgres.logger) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let versions = try await TestPostgres.rows(database, "SELECT version FROM schema_migrations ORDER BY version")
                .map { try $0.decode(Int32.self) }
            #expect(versions == [1, 2, 3])
            #expect(try await stores[0].generation() == 0)
            let metaRows = try await TestPostgres.rows(database, "SELECT count(*) FROM ring_meta").first?.decode(Int64.self)
            #expect(metaRows == 1)
        } catch {
            Issue.record(error)
        }
        for store in stores { await store.close() }
        try await TestPostgres.dropDatabase(database)
    }

    /// The unique index is on the bytes the application wrote, not on lower(email): PostgreSQL's lower() folds
    /// KELVIN SIGN to "k" under most locales, which would make "\u{212A}im@…" and "kim@…" one row.
    @Test(.enabled(if: hasServer)) func theEmailIndexRefusesTheSameBytesAndFoldsNothing() async throws {
        try await StoreKind.postgres.withStore { fixture in
            let link = try await Sample.link(fixture.store)
            _ = try await Sample.createAccount(fixture.store, "kim@example.com", link: link)
            let database = try #require(TestPostgres.server).with(database: fixture.path)
            let error = try await #require(throws: PSQLError.self) {
                try await TestPostgres.administer(database, """
                    INSERT INTO accounts (email, client_id, password_hash, link_id, created_at)
                    VALUES ('kim@example.com', 'acme', \(Sample.passwordHash), 1, 0)
                    """)
            }
            #expect(error.serverInfo?[.sqlState] == "23505")
            try await TestPostgres.administer(database, """
                INSERT INTO accounts (email, client_id, password_hash, link_id, created_at)
                VALUES (U&'\\212Aim@example.com', 'other', \(Sample.passwordHash), 1, 0)
                """)
            let kim = try await fixture.store.account(email: EmailAddress(normalized: "kim@example.com"))
            #expect(kim?.clientID.description == "acme")
        }
    }

    /// A writer waits for another's lock as long as SQLite's busy timeout would, then gets one clear error,
    /// and the store works again once the lock is free.
    @Test(.enabled(if: hasServer)) func aWriterStuckBehindAnotherGetsAClearErrorInTime() async throws {
        let database = try await TestPostgres.createDatabase()
        // A call deadline well past the lock timeout: the lock's error is what is tested, on a machine busy with
        // every other suite.
        let store = try await PostgresLinkStore.open(location: database, logger: TestPostgres.logger, writerLockTimeoutSeconds: 1,
                                                     callDeadline: .seconds(15))
        let holder = try await TestPostgres.connect(database)
        do {
            try await holder.query("BEGIN", logger: TestPostgres.logger)
            try await holder.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(\(0x504C_5752_4954_4552 as Int64))"),
                                   logger: TestPostgres.logger)
            let started = ContinuousClock.now
            let error = try await #require(throws: PortalLinksError.self) { _ = try await Sample.rotate(store, id: 1) }
            #expect(error.code == .busy && error.message.contains("write lock"))
            #expect(ContinuousClock.now - started < .seconds(10), "after the lock timeout, not the call deadline")
            try await holder.query("ROLLBACK", logger: TestPostgres.logger)
            _ = try await Sample.rotate(store, id: 1)
        } catch {
            Issue.record(error)
        }
        try? await holder.close()
        await store.close()
        try await TestPostgres.dropDatabase(database)
    }

    // MARK: Listening

    @Test(.enabled(if: hasServer)) func theListenerReconnectsAndSignalsWhenItsConnectionIsCut() async throws {
        try await StoreKind.postgres.withStore { fixture in
            let signals = SignalCounter(fixture.store.changeSignals())
            defer { signals.stop() }
            #expect(try await signals.wait(forMoreThan: 0, within: .seconds(5)), "listening started")
            let database = try #require(TestPostgres.server).with(database: fixture.path)
            let cut = signals.count
            try await TestPostgres.administer(database, """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'
                """)
            #expect(try await signals.wait(forMoreThan: cut, within: .seconds(5)), "listening again, which may have missed changes")
            // Wait for the signal of the restart to settle, then a change is heard again.
            let before = signals.count
            _ = try await Sample.rotate(fixture.reopen(), id: 1)
            #expect(try await signals.wait(forMoreThan: before, within: .seconds(1)))
        }
    }

    // MARK: Helpers

    /// A loopback port nothing listens on.
    static func freePort() throws -> Int {
        let listener = try SilentListener()
        defer { listener.close() }
        return listener.port
    }
}

/// A loopback socket that takes connections (the kernel completes the handshake) and never says a word, as a
/// server that hangs or a wrong port behind a firewall would.
final class SilentListener: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw PortalLinksError(.unavailable, "cannot listen on a loopback port") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(descriptor) }
}
