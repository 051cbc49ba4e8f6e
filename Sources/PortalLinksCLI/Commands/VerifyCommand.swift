import ArgumentParser
import PortalLinks
import PortalLinksCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a link. Exit status 0 when valid, 1 when invalid, 2 on a usage error.",
        discussion: "Accepts a bare token or a whole link URL, with any spaces, quotes or angle brackets pasted around it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The token or link URL.", valueName: "TOKEN_OR_URL"))
    var token: String

    @Option(help: ArgumentHelp("Check as of this time (ISO 8601 or Unix seconds) instead of now.", valueName: "TIME"))
    var at: String?

    @Option(help: ArgumentHelp("Seconds of clock difference tolerated at both ends of the lifetime (default 60).", valueName: "SECONDS"))
    var leeway: Int64?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if let at { _ = try Arguments.time(at, option: "--at") }
        if let leeway, leeway < 0 || leeway > 86_400 { throw ValidationError("--leeway takes 0 to 86400 seconds") }
    }

    func run() async throws {
        let installation = try await global.open()
        let now = try at.map { try Arguments.time($0, option: "--at") } ?? installation.clock()
        let verifier = try await installation.loadVerifier(leeway: leeway)
        let result = verifier.verify(TokenInput.extract(token), at: now)
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
            lines.append("client:   \(claims.clientID)" + (claims.displayName.map { " (\($0))" } ?? ""))
            lines.append("issued:   \(TimeText.format(claims.issuedAt))")
            lines.append("expires:  \(TimeText.format(claims.expiresAt))")
            lines.append("key:      \(claims.keyID)")
            lines.append("link_id:  \(linkID)")
        }
        return lines.joined(separator: "\n")
    }
}
