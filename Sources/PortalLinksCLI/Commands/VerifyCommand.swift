import ArgumentParser
import PortalLinks
import PortalLinksCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a link. Exit status 0 when valid, 1 when invalid, 2 on a usage error.",
        discussion: "Accepts a bare token or a whole link URL, with any spaces, quotes or angle brackets pasted around it.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var link: TokenArguments

    @Option(help: ArgumentHelp("Seconds of clock difference tolerated at both ends of the lifetime (default: $PORTAL_LINKS_LEEWAY, else 60).", valueName: "SECONDS"))
    var leeway: Int64?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if let leeway, leeway < 0 || leeway > 86_400 { throw ValidationError("--leeway takes 0 to 86400 seconds") }
    }

    func run() async throws {
        let installation = try await global.open(existing: true)
        let verifier = try await installation.loadVerifier(leeway: leeway)
        let result = verifier.verify(TokenInput.extract(link.token), at: link.time ?? installation.clock())
        print(json ? Self.json(result) : Self.text(result))
        if !result.isValid { throw ExitCode(1) }
    }

    static func json(_ result: LinkVerification) -> String {
        JSONText.object([
            ("valid", result.isValid), ("reason", result.reason?.rawValue),
            ("client_id", result.claims?.clientID.description), ("display_name", result.claims?.displayName),
            ("issued_at", result.claims?.issuedAt), ("expires_at", result.claims?.expiresAt),
            ("key_id", result.claims?.keyID.description), ("link_id", result.linkID?.description),
        ])
    }

    static func text(_ result: LinkVerification) -> String {
        var lines = [result.reason.map { "invalid: \($0.rawValue)" } ?? "valid"]
        if let claims = result.claims, let linkID = result.linkID {
            lines.append("client:   \(TerminalText.field(claims.clientID.description))" + (claims.displayName.map { " (\(TerminalText.field($0)))" } ?? ""))
            lines.append("issued:   \(TimeText.format(claims.issuedAt))")
            lines.append("expires:  \(TimeText.format(claims.expiresAt))")
            lines.append("key:      \(claims.keyID)")
            lines.append("link_id:  \(linkID)")
        }
        return lines.joined(separator: "\n")
    }
}
