import Foundation
import Testing

/// `migrate-store`: everything in a SQLite home reaches a new PostgreSQL database, keeps working there, and a
/// second copy into the same database is refused without touching it.
@Suite(.timeLimit(.minutes(2))) struct MigrateStoreTests {
    static let password = "correct horse battery staple"

    @Test(.enabled(if: StoreOptionTests.postgres != nil)) func aHomeMovesToPostgreSQLWhole() async throws {
        try await TestDatabase.with { url in
            let cli = CLI()
            defer { cli.remove() }
            let link = try await cli.run("issue", "--client", "acme", "--name", "Acme Corp", "--format", "token").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let revoked = try await cli.run("issue", "--client", "globex", "--format", "token").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            // An invitation emailed (to an outbox): its delivery moves with the ledger.
            let outbox = cli.home + "-outbox"
            defer { try? FileManager.default.removeItem(atPath: outbox) }
            #expect(try await cli.run("issue", "--client", "acme", "--sent-to", "ana@acme.example", "--base-url", "https://portal.example/join",
                                      "--send", "--outbox", outbox).status == 0)
            try await cli.run("keys", "rotate")
            try await cli.run("revoke", "client", "globex")
            try await cli.run("callers", "add", "shop", "--scopes", "verify")
            for email in ["ana@acme.example", "bob@acme.example"] {
                #expect(try await cli.run(["accounts", "register", link, "--email", email], input: Self.password + "\n").status == 0)
            }
            try await cli.run("accounts", "remove", "bob@acme.example")
            let sqlite = "sqlite:\(cli.home)/portal-links.sqlite"

            let copied = try await cli.run("migrate-store", "--from", sqlite, "--to", url)
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(copied.stdout.contains("2 keys") && copied.stdout.contains("1 revoked clients") && copied.stdout.contains("1 accounts"))
            #expect(copied.stdout.contains("audit chain verified"))

            // The copy, used with the same master key (the home's), answers as the original did.
            #expect(try await cli.run("verify", link, "--store", url).status == 0)
            // Revoked with its client (one by one, since it was issued in the same second as the revocation).
            let refused = try await cli.run("verify", revoked, "--store", url)
            #expect(refused.status == 1 && refused.stdout.contains("_revoked"), "\(refused.stdout)")
            #expect(try await cli.run("audit", "verify", "--store", url).status == 0)
            #expect(try await cli.run("callers", "list", "--store", url).stdout.contains("shop"))
            #expect(try await cli.run("links", "list", "--client", "acme", "--store", url).stdout.contains("1 sent"))
            let accounts = try await cli.run("accounts", "list", "--json", "--store", url).stdout
            #expect(accounts.contains("ana@acme.example") && !accounts.contains("bob@acme.example"))
            // A new account never takes the removed one's ID: its sessions stay ended.
            #expect(try await cli.run(["accounts", "register", link, "--email", "cy@acme.example", "--store", url],
                                input: Self.password + "\n").status == 0)

            let again = try await cli.run("migrate-store", "--from", sqlite, "--to", url)
            #expect(again.status == 1 && again.stderrLines.count == 1 && again.stderr.contains("already holds data"))
            #expect(try await cli.run("accounts", "list", "--json", "--store", url).stdout.contains("cy@acme.example"))
        }
    }

    @Test func badSourcesAreUsageErrors() async throws {
        let cli = CLI()
        defer { cli.remove() }
        for arguments in [
            ["migrate-store", "--from", "sqlite:/nonexistent/portal-links.sqlite", "--to", "postgres://portal@127.0.0.1:1/portal_links"],
            ["migrate-store", "--from", "postgres://portal@127.0.0.1:1/a", "--to", "postgres://portal@127.0.0.1:1/b"],
            ["migrate-store", "--from", "sqlite:/tmp/x.sqlite", "--to", "sqlite:/tmp/y.sqlite"],
        ] {
            let output = try await cli.run(arguments)
            #expect(output.status == 2 && output.stderrLines.count == 1, "\(arguments): \(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/portal-links.sqlite"))
    }
}
