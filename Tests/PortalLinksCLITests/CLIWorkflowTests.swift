import Foundation
import Testing

@Suite struct CLIWorkflowTests {
    @Test func issueVerifyRotateRevoke() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let issued = try await cli.json("issue", "--client", "0f8fad5b-d9cb-469f-a165-70867728950e", "--name", "Acme Corp",
                                  "--base-url", "https://portal.example.com/join", "--sent-to", "ops@acme.example",
                                  "--format", "json") as! [String: Any]
        let token = issued["token"] as! String
        let url = issued["url"] as! String
        #expect(url == "https://portal.example.com/join?token=\(token)")
        #expect(token.count <= 80)

        let valid = try await cli.run("verify", "--json", " <\(url)>. ")
        #expect(valid.status == 0)
        let fields = try JSONSerialization.jsonObject(with: Data(valid.stdout.utf8)) as! [String: Any]
        #expect(Set(fields.keys) == ["valid", "reason", "client_id", "display_name", "issued_at", "expires_at", "key_id", "link_id"])
        #expect(fields["valid"] as? Bool == true)
        #expect(fields["display_name"] as? String == "Acme Corp")
        #expect(fields["link_id"] as? String == issued["link_id"] as? String)

        var changed = Array(token)
        changed[10] = changed[10] == "A" ? "B" : "A"
        let tampered = try await cli.run("verify", "--json", String(changed))
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("\"valid\":false"))
        #expect(try await cli.run("verify", "hello").status == 1)

        try await cli.run("keys", "rotate")
        #expect(try await cli.run("verify", token).status == 0, "rotation keeps old links working")
        try await cli.run("keys", "rotate", "--emergency")
        #expect(try await cli.run("verify", token).status == 0, "only the newest primary was disabled")

        let linkID = issued["link_id"] as! String
        #expect(try await cli.run("revoke", "link", linkID).status == 0)
        let revoked = try await cli.run("verify", "--json", token)
        #expect(revoked.status == 1 && revoked.stdout.contains("\"reason\":\"link_revoked\""))
        let show = try await cli.run("links", "show", linkID)
        #expect(show.stdout.contains("status:   revoked"))
        #expect(try await cli.run("audit", "verify").status == 0)
        let audit = try await cli.run("audit").stdout
        #expect(!audit.contains(token), "the audit log never holds a token")
    }

    @Test func expiredLinkAtATimeAndItsAdvice() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let token = try await cli.run("issue", "--client", "acme", "--expires", "7d", "--format", "token").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let issued = try await cli.json("verify", "--json", token) as! [String: Any]
        let expiresAt = issued["expires_at"] as! Int
        let later = String(expiresAt + 3 * 86_400)
        let expired = try await cli.run("verify", "--json", "--at", later, token)
        #expect(expired.status == 1 && expired.stdout.contains("\"reason\":\"expired\""))
        let inspect = try await cli.run("inspect", "--at", later, token)
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("expired 3 days ago; issue a new one with: portal-links issue --client acme"))
    }

    @Test func csvWithBadRowsIssuesTheGoodOnes() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let csv = cli.home + "/clients.csv"
        try """
            client_id,name,expires,sent_to
            acme,Acme Corp,30d,ops@acme.example;ceo@acme.example
            bad client,Nobody,30d,
            globex,"Globex, Inc.",,
            initech,Initech,900d,
            0f8fad5b-d9cb-469f-a165-70867728950e,,2099-01-01,
            umbrella,Umbrella,7d,not-an-address
            hooli,Hooli,14d,dev@hooli.example,extra
            """.write(toFile: csv, atomically: true, encoding: .utf8)
        let output = try await cli.run("issue", "--csv", csv, "--base-url", "https://portal.example.com/join")
        #expect(output.status == 1)
        for row in [3, 5, 6, 7, 8] { #expect(output.stderr.contains("row \(row):"), "row \(row) should be reported") }
        #expect(!output.stderr.contains("row 2:") && !output.stderr.contains("row 4:"))
        let rows = output.stdout.split(separator: "\n")
        #expect(rows.count == 3, "header and two links: \(output.stdout)")
        #expect(rows.first == "row,client_id,name,link_id,expires_at,link,sent_to")
        #expect(output.stdout.contains("\"Globex, Inc.\""))
        let ledger = try await cli.json("links", "list", "--json") as! [[String: Any]]
        #expect(Set(ledger.map { $0["client_id"] as! String }) == ["acme", "globex"])
        #expect(ledger.first { $0["client_id"] as? String == "acme" }?["sent_to"] as? [String] == ["ops@acme.example", "ceo@acme.example"])
    }

    @Test func csvOutputFileIsPrivateAndAByteOrderMarkIsIgnored() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let csv = cli.home + "/clients.csv"
        try "\u{FEFF}client_id,name\nacme,Acme Corp\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let output = cli.home + "/links.csv"
        let result = try await cli.run("issue", "--csv", csv, "--output", output)
        #expect(result.status == 0, "\(result.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let ledger = try await cli.json("links", "list", "--json") as! [[String: Any]]
        #expect(ledger.map { $0["client_id"] as! String } == ["acme"])
    }

    @Test func concurrentRotationsLeaveOneConsistentRing() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("keys", "rotate")
        let rotations = try await withThrowingTaskGroup(of: CLI.Output.self) { group in
            for _ in 0..<6 { group.addTask { try await cli.run("keys", "rotate") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for rotation in rotations { #expect(rotation.status == 0, "\(rotation.stderr)") }
        let keys = try await cli.json("keys", "list", "--json") as! [[String: Any]]
        #expect(keys.count == 7)
        #expect(keys.filter { $0["state"] as? String == "primary" }.count == 1)
        #expect(keys.filter { $0["state"] as? String == "retiring" }.count == 6)
        #expect(try await cli.run("audit", "verify").status == 0)
    }
}

@Suite struct CLIPolicyTests {
    @Test func leewayAndMaximumLifetimeComeFromTheEnvironment() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let refused = try await cli.run(["issue", "--client", "acme", "--expires", "30d"], environment: ["PORTAL_LINKS_MAX_LIFETIME": "14d"])
        #expect(refused.status == 2 && refused.stderr.contains("policy maximum of 14 days"))
        let token = try await cli.run("issue", "--client", "acme", "--expires", "1h", "--format", "token").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let expiresAt = (try await cli.json("verify", "--json", token) as! [String: Any])["expires_at"] as! Int
        let justAfter = String(expiresAt + 30)
        #expect(try await cli.run("verify", "--at", justAfter, token).status == 0, "within the default 60 s leeway")
        let strict = try await cli.run(["verify", "--at", justAfter, token], environment: ["PORTAL_LINKS_LEEWAY": "10"])
        #expect(strict.status == 1)
        #expect(try await cli.run("verify", "--leeway", "0", "--at", justAfter, token).status == 1)
        try await cli.expectOneLineError(["verify", "--leeway", "-5", token], status: 2)
    }
}
