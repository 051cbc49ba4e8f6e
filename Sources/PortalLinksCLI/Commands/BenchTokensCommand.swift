import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore

struct BenchTokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Write a file of prepared tokens, so that bench can run from a machine without the server's home.",
        discussion: """
            Run by staff where the keys are. The file holds, by kind: valid links (issued, recorded in the ledger \
            and the audit log), expired ones (signed with past times: only the staff side can make those), forged \
            and malformed ones, and session tokens of an account registered for the purpose, with that account's \
            email and password for Accounts.SignIn load. It is secret material (valid links and sessions let their \
            bearer in): it is written 0600; hand it to the load-testers as you would a key, and when the test is \
            over revoke the links (portal-links links list --client ID) and remove the account \
            (portal-links accounts remove EMAIL), or let them expire.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Where to write the tokens (mode 0600).", valueName: "FILE"))
    var out: String

    @Option(help: "Tokens of each kind.")
    var count = 256

    @Option(help: ArgumentHelp("The client the links and the account belong to.", valueName: "ID"))
    var client = "portal-links-bench"

    @Option(help: ArgumentHelp("How long the valid links live.", valueName: "DURATION"))
    var expires = "1d"

    @Option(help: "Session tokens (one sign-in, one password hash, each); 0 for none and no account.")
    var sessions = 8

    func validate() throws {
        guard (1...100_000).contains(count) else { throw ValidationError("--count takes 1 to 100000") }
        guard (0...1_000).contains(sessions) else { throw ValidationError("--sessions takes 0 to 1000") }
        _ = try Arguments.duration(expires, option: "--expires")
    }

    func run() async throws {
        let installation = try await global.open(existing: true)
        let clientID = try Arguments.clientID(client)
        let lifetime = try Arguments.duration(expires, option: "--expires")
        var tokens = try await BenchTokens.fromHome(installation, count: count, client: clientID, lifetime: lifetime)
        var account = ""
        if sessions > 0 {
            let link = try await installation.issue(IssueRequest(clientID: clientID, expiresAt: installation.clock() + 3_600))
            let email = "bench-\(Hex.padded(SecureRandom.uint64(), digits: 16))@portal-links.invalid"
            let password = Base64URL.encode(SecureRandom.bytes(18))
            try await installation.register(link: link.token, email: email, password: password, displayName: "bench", caller: installation.actor)
            for _ in 0..<sessions {
                tokens.sessions.append(try await installation.signIn(email: email, password: password, caller: installation.actor).token)
            }
            tokens.signIn = (email, password)
            account = ", \(sessions) sessions of \(email) (remove with: portal-links accounts remove \(email))"
        }
        try tokens.write(to: out, clientID: clientID.description, expiresAt: installation.clock() + lifetime)
        FileHandle.standardError.write(Data(("wrote \(TerminalText.field(out)) (0600, secret): \(count) valid, expired, forged and malformed "
                                             + "links each for \(TerminalText.field(clientID.description))\(account)\n").utf8))
    }
}
