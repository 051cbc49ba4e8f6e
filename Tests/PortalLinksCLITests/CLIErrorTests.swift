import Foundation
import Testing

/// Bad input gets one line on stderr and a non-zero status, and changes nothing.
@Suite struct CLIErrorTests {
    static let usageErrors: [[String]] = [
        ["issue"],
        ["issue", "--client", "acme corp"],
        ["issue", "--client", "acme", "--expires", "400d"],
        ["issue", "--client", "acme", "--expires", "soon"],
        ["issue", "--client", "acme", "--format", "url"],
        ["issue", "--client", "acme", "--base-url", "ftp://example.com"],
        ["issue", "--client", "acme", "--sent-to", "nobody"],
        ["issue", "--csv", "/nonexistent/links.csv"],
        ["keys", "promote", "xyz"],
        ["keys", "disable"],
        ["revoke", "link", "1234"],
        ["revoke", "client", "acme", "--before", "next tuesday"],
        ["links", "expiring", "--within", "fortnight"],
        ["verify"],
        ["verify", "token", "--at", "noon"],
        ["teleport"],
        ["conformance-server"],
        ["conformance-server", "--manifest", "/tmp/m.json", "--vectors", "/nonexistent/vectors.json"],
    ]

    @Test(arguments: usageErrors)
    func usageErrorsAreOneLineAndExitTwo(_ arguments: [String]) async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("issue", "--client", "acme")
        let ledgerBefore = try await cli.run("links", "list", "--json").stdout
        try await cli.expectOneLineError(arguments, status: 2)
        #expect(try await cli.run("links", "list", "--json").stdout == ledgerBefore, "nothing was issued")
    }

    @Test(arguments: [["--help"], ["issue", "--help"], ["keys", "rotate", "--help"], ["help", "revoke"]])
    func helpIsPrintedAndExitsZero(_ arguments: [String]) async throws {
        let cli = CLI()
        defer { cli.remove() }
        let output = try await cli.run(arguments)
        #expect(output.status == 0)
        #expect(output.stdout.contains("USAGE: portal-links"))
        #expect(output.stderr.isEmpty)
    }

    @Test func refusedKeyChangesExitOneAndLeaveTheRingAlone() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("keys", "rotate")
        let keys = try await cli.json("keys", "list", "--json") as! [[String: Any]]
        let primary = keys.first { $0["state"] as? String == "primary" }!["key_id"] as! String
        let before = try await cli.run("keys", "list", "--json").stdout
        let auditBefore = try await cli.run("audit", "--json").stdout
        try await cli.expectOneLineError(["keys", "disable", primary], status: 1)
        try await cli.expectOneLineError(["keys", "destroy", primary], status: 1)
        try await cli.expectOneLineError(["keys", "promote", "00000000"], status: 1)
        try await cli.expectOneLineError(["keys", "enable", primary], status: 1)
        #expect(try await cli.run("keys", "list", "--json").stdout == before)
        #expect(try await cli.run("audit", "--json").stdout == auditBefore)
    }

    @Test func wrongMasterKeyIsOneLineAndNeverPrinted() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("issue", "--client", "acme")
        let wrong = String(repeating: "ab", count: 32)
        let output = try await cli.run(["keys", "list"], environment: ["PORTAL_LINKS_MASTER_KEY": wrong])
        #expect(output.status == 1)
        #expect(output.stderrLines.count == 1)
        #expect(output.stderr.contains("master key"))
        #expect(!output.stderr.contains(wrong) && !output.stdout.contains(wrong))
        let real = try String(contentsOfFile: cli.home + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!output.stderr.contains(real))
    }

    /// Commands that only read fail on a home that is not there, and leave it not there: no new installation
    /// with a new master key under a mistyped path.
    @Test(arguments: [["verify", "AZ3xe8JrAZ2Ba3hEgQIS_QRhY21lCUFjbWUgQ29ycM4rsXDoXjY1TuNYHT5Pp6w"],
                      ["inspect", "AZ3xe8JrAZ2Ba3hEgQIS_QRhY21lCUFjbWUgQ29ycM4rsXDoXjY1TuNYHT5Pp6w"]])
    func readingCommandsDoNotCreateAHome(_ arguments: [String]) async throws {
        let cli = CLI()
        defer { cli.remove() }
        #expect(!FileManager.default.fileExists(atPath: cli.home))
        try await cli.expectOneLineError(arguments, status: 1)
        #expect(!FileManager.default.fileExists(atPath: cli.home), "the home was not created")
    }
}
