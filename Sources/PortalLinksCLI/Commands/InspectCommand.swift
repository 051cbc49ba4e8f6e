import ArgumentParser
import PortalLinks
import PortalLinksCore

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a link without trusting it: every field, its key's state, why it fails and what to do.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var link: TokenArguments

    func run() async throws {
        let inspection = try await global.open(existing: true).inspect(link.token, at: link.time)
        print(Self.render(inspection))
    }

    static func render(_ inspection: Inspection) -> String {
        let verification = inspection.verification
        var lines: [String] = []
        func add(_ label: String, _ value: String) { lines.append(label.padding(toLength: 10, withPad: " ", startingAt: 0) + value) }
        add("result:", verification.reason.map { "invalid (\($0.rawValue))" } ?? "valid")
        add("length:", "\(inspection.token.utf8.count) characters" + (inspection.decoded.map { ", \($0.byteCount) bytes" } ?? ""))
        if let decoded = inspection.decoded {
            add("version:", "\(decoded.version)")
            if let keyID = decoded.keyID {
                add("key:", "\(keyID) (" + (inspection.keyState?.rawValue ?? "not in this ring") + ")")
            }
            let trust = verification.claims == nil ? "  [unverified]" : ""
            if let claims = verification.claims ?? decoded.claims {
                add("client:", TerminalText.field(claims.clientID.description) + trust)
                add("name:", (claims.displayName.map { TerminalText.field($0) } ?? "(none)") + trust)
                add("issued:", TimeText.format(claims.issuedAt) + relative(claims.issuedAt, now: inspection.checkedAt) + trust)
                add("expires:", TimeText.format(claims.expiresAt) + relative(claims.expiresAt, now: inspection.checkedAt) + trust)
            }
            if let linkID = verification.linkID {
                add("link_id:", linkID.description)
            }
        }
        if let ledger = inspection.ledger {
            add("ledger:", "issued by \(TerminalText.field(ledger.issuedBy))" + (ledger.sentTo.isEmpty ? "" : ", sent to \(TerminalText.field(ledger.sentTo.joined(separator: ", ")))"))
        } else if verification.linkID != nil {
            add("ledger:", "not in this installation's ledger")
        }
        if let revoked = inspection.revocation?.linkRevokedAt { add("revoked:", "link revoked \(TimeText.format(revoked))") }
        if let before = inspection.revocation?.clientRevokedBefore { add("revoked:", "client's links issued before \(TimeText.format(before))") }
        if let disabled = inspection.revocation?.clientDisabledAt { add("disabled:", "client disabled \(TimeText.format(disabled))") }
        add("checked:", TimeText.format(inspection.checkedAt))
        add("next:", TerminalText.field(inspection.advice))
        return lines.joined(separator: "\n")
    }

    static func relative(_ time: Int64, now: Int64) -> String {
        if time == now { return " (now)" }
        return time > now ? " (in \(Installation.describe(seconds: time - now)))" : " (\(Installation.describe(seconds: now - time)) ago)"
    }
}
