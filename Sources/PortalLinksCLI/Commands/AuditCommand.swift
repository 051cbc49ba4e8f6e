import PortalLinksCore
import ArgumentParser
import PortalLinks
import PortalLinksStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The hash-chained log of every key, revocation and issue operation.",
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the log, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let entries = try await global.open().store.auditEntries()
            if json {
                print(JSONText.array(entries.map {
                    JSONText.object([("sequence", $0.sequence), ("at", $0.at), ("actor", $0.actor),
                                     ("operation", $0.operation), ("subject", $0.subject)])
                }))
                return
            }
            for entry in entries {
                print("\(entry.sequence)\t\(TimeText.format(entry.at))\t\(entry.actor)\t\(entry.operation)\t\(entry.subject)")
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
