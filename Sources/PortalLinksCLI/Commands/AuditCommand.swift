import PortalLinksCore
import ArgumentParser
import PortalLinks
import PortalLinksStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The hash-chained log of every staff operation, and the account activity log.",
        discussion: """
            Without options: the hash-chained audit log of key, revocation, issue, caller and account operations.             With --account or --client: the activity log of accounts (registration, sign-in success and failure,             lockout, reset requested and done, sign-out, staff actions), oldest first. Neither ever holds a             password, token or hash.
            """,
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the log, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The activity of this account (also after it was removed).", valueName: "EMAIL"))
        var account: String?
        @Option(help: ArgumentHelp("The activity of this client's accounts.", valueName: "ID")) var client: String?
        @Flag(help: "Print JSON.") var json = false
        func validate() throws { if let client { _ = try Arguments.clientID(client) } }
        func run() async throws {
            if account != nil || client != nil {
                try await printActivity()
                return
            }
            let entries = try await global.open().store.auditEntries()
            if json {
                print(JSONText.array(entries.map {
                    JSONText.object([("sequence", $0.sequence), ("at", $0.at), ("actor", $0.actor),
                                     ("operation", $0.operation), ("subject", $0.subject)])
                }))
                return
            }
            for entry in entries {
                print("\(entry.sequence)\t\(TimeText.format(entry.at))\t\(TerminalText.field(entry.actor))\t\(entry.operation)\t\(TerminalText.field(entry.subject))")
            }
        }

        private func printActivity() async throws {
            let installation = try await global.open()
            let entries = try await installation.activity(email: account, client: try client.map(Arguments.clientID))
            if json {
                print(JSONText.array(entries.map {
                    JSONText.object([("sequence", $0.sequence), ("at", $0.at), ("event", $0.event), ("account", $0.account),
                                     ("client_id", $0.clientID), ("caller", $0.caller), ("result", $0.result)])
                }))
                return
            }
            guard !entries.isEmpty else {
                print("no activity")
                return
            }
            for entry in entries {
                print([TimeText.format(entry.at), entry.event, entry.account ?? "-", entry.clientID ?? "-", entry.caller, entry.result]
                    .map { TerminalText.field($0) }.joined(separator: "\t"))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the hash chain; exit 1 at the first broken entry.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let entries = try await global.open().store.auditEntries()
            if let broken = AuditEntry.firstBrokenEntry(in: entries) {
                throw PortalLinksError(.conflict, "audit log broken at entry \(broken.sequence): it was changed, removed or reordered")
            }
            print("audit log intact: \(entries.count) entries")
        }
    }
}
