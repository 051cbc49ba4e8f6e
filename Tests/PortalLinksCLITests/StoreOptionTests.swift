import Foundation
import PortalLinksClient
import PortalLinksPostgres
import PortalLinksTesting
import PostgresNIO
import Testing

/// `--store` and `$PORTAL_LINKS_STORE`: a bad URL is a usage error, an unreachable store one line, and with
/// `PORTAL_LINKS_TEST_POSTGRES` set the staff commands and `serve` work over PostgreSQL.
@Suite(.timeLimit(.minutes(2))) struct StoreOptionTests {
    static let password = "s3cret-Pa55word"
    static let postgres = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_POSTGRES"]

    @Test(arguments: [
        "mysql://portal:\(password)@db.example.com/links", "postgres://portal:\(password)@db.example.com:70000/links",
        "postgres://portal:\(password)@db.example.com", "sqlite:", "portal-links.sqlite",
    ])
    func aBadStoreURLIsOneLineExitTwoWithoutThePassword(_ url: String) async throws {
        let cli = CLI()
        defer { cli.remove() }
        for (arguments, environment) in [(["keys", "list", "--store", url], [:]), (["keys", "list"], ["PORTAL_LINKS_STORE": url])] {
            let output = try await cli.run(arguments, environment: environment)
            #expect(output.status == 2, "\(arguments) \(environment) exited \(output.status): \(output.stderr)")
            #expect(output.stderrLines.count == 1 && output.stderr.hasPrefix("portal-links: "), "\(output.stderr)")
            #expect(!output.stderr.contains(Self.password) && output.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: cli.home), "nothing was created")
    }

    @Test func anUnreachableStoreIsOneLineExitOneWithoutThePassword() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let start = ContinuousClock.now
        let output = try await cli.run("keys", "list", "--store", "postgres://portal:\(Self.password)@127.0.0.1:1/portal_links")
        // The refusal itself, not the 5-second connect timeout ("no answer within 5 seconds"), is what the
        // message names; the bound only says it does not hang, on a machine busy with every other suite.
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(output.status == 1)
        #expect(output.stderr == "portal-links: cannot connect to PostgreSQL at 127.0.0.1:1/portal_links: connection refused\n")
        #expect(!output.stderr.contains(Self.password) && output.stdout.isEmpty)
    }

    @Test func aSQLiteStoreURLPutsTheDataInTheFileGiven() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-sqlite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = "sqlite:\(directory)/links.sqlite"
        let token = try await cli.run("issue", "--client", "acme", "--format", "token", "--store", store).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await cli.run("verify", token, "--store", store).status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(directory)/links.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: "\(cli.home)/portal-links.sqlite"), "not the home's store")
        #expect(FileManager.default.fileExists(atPath: "\(cli.home)/master.key"), "the key is still the home's")
        #expect(try await cli.run("verify", token).status == 1, "the home's own store has no such key")
    }

    @Test(.enabled(if: postgres != nil)) func staffCommandsWorkOverPostgreSQL() async throws {
        try await TestDatabase.with { url in
            let cli = CLI()
            defer { cli.remove() }
            let start = ContinuousClock.now
            let issued = try #require(try await cli.json("issue", "--store", url, "--client", "acme", "--name", "Acme Corp",
                                                   "--max-accounts", "1", "--format", "json") as? [String: Any])
            let token = try #require(issued["token"] as? String), linkID = try #require(issued["link_id"] as? String)
            #expect(try await cli.run("verify", "--store", url, token).status == 0)
            #expect(try await cli.run("keys", "rotate", "--store", url).status == 0)
            #expect(try await cli.run("verify", "--store", url, token).status == 0, "rotation keeps old links working")
            #expect((try await cli.json("keys", "list", "--store", url, "--json") as? [Any])?.count == 2)

            let key = try await cli.run("callers", "add", "portal", "--scopes", "verify,accounts", "--store", url)
            #expect(key.status == 0 && key.stdout.hasPrefix("plk_"))
            try await cli.expectOneLineError(["callers", "add", "portal", "--store", url], status: 1)
            #expect(try await cli.run("callers", "list", "--store", url).stdout.contains("portal"))
            #expect(try await cli.run("callers", "revoke", "portal", "--store", url).status == 0)

            let registered = try await cli.run(["accounts", "register", token, "--email", "Ana@Example.com", "--store", url],
                                         input: "correct horse battery\n")
            #expect(registered.status == 0, "\(registered.stderr)")
            let again = try await cli.run(["accounts", "register", token, "--email", "ANA@example.com", "--store", url],
                                    input: "correct horse battery\n")
            #expect(again.status == 1 && again.stderrLines.count == 1)
            let accounts = try #require(try await cli.json("accounts", "list", "--store", url, "--json") as? [[String: Any]])
            #expect(accounts.map { $0["email"] as? String } == ["ana@example.com"])

            #expect(try await cli.run("revoke", "link", linkID, "--store", url).status == 0)
            let revoked = try await cli.run("verify", "--json", "--store", url, token)
            #expect(revoked.status == 1 && revoked.stdout.contains("\"reason\":\"link_revoked\""))
            #expect(try await cli.run("audit", "verify", "--store", url).status == 0)
            // Fourteen commands, each about a second on a quiet machine; a command that hung on exit (a pool
            // never shut down) would take this past a minute even with every other suite running at once.
            #expect(ContinuousClock.now - start < .seconds(60), "each command exits promptly")

            // The same data through $PORTAL_LINKS_STORE; the home's SQLite file never came into it.
            #expect(try await cli.run(["links", "show", linkID], environment: ["PORTAL_LINKS_STORE": url]).stdout.contains("status:   revoked"))
            #expect(!FileManager.default.fileExists(atPath: "\(cli.home)/portal-links.sqlite"))
        }
    }

    @Test(.enabled(if: postgres != nil)) func serveOverPostgreSQLHearsAChangeFromAnotherProcessAtOnce() async throws {
        try await TestDatabase.with { url in
            let cli = CLI()
            defer { cli.remove() }
            let server = try await RunningServer(cli, arguments: ["--store", url])
            defer { server.stop() }
            let welcome = server.startupLines.joined(separator: "\n")
            #expect(welcome.contains("store: postgres://") && welcome.contains("caller 'local' API key (shown once): plk_"),
                    "a new store gets the welcome: \(welcome)")
            let key = try #require(server.startupLines.first { $0.contains("API key") }?.split(separator: " ").last.map(String.init))
            let token = try await cli.run("issue", "--client", "acme", "--format", "token", "--store", url).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let client = try PortalLinksClient(configuration: .init(host: "127.0.0.1", port: server.port, apiKey: key))
            #expect(try await client.verify(token: token).valid)

            #expect(try await cli.run("keys", "rotate", "--emergency", "--store", url).status == 0)
            let changedAt = ContinuousClock.now
            var refused = false
            while !refused && ContinuousClock.now - changedAt < .seconds(1) {
                refused = try await client.verify(token: token).reason == .keyDisabled
                if !refused { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(refused, "the emergency rotation reached the server within a second")
            await client.close()
        }
    }
}

/// A database of its own on the PostgreSQL server of `PORTAL_LINKS_TEST_POSTGRES`, dropped afterwards.
enum TestDatabase {
    static func with(_ body: (String) async throws -> Void) async throws {
        let base = try #require(StoreOptionTests.postgres)
        let database = try await TestPostgres.createDatabase()
        // The given URL with the new database in place of its own (and without its parameters).
        let url = base[..<base.lastIndex(of: "/")!] + "/" + database.database
        do {
            try await body(String(url))
        } catch {
            try? await TestPostgres.dropDatabase(database)
            throw error
        }
        try await TestPostgres.dropDatabase(database)
    }
}
