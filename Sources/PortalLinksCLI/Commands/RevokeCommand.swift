import ArgumentParser
import PortalLinks
import PortalLinksCore

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke one link, or a client's links. Running servers refuse them within a second.",
        subcommands: [Link.self, Client.self])

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke one link by its link ID.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("16 hex digits, as verify, inspect and 'links list' show.", valueName: "LINK_ID"))
        var linkID: String
        func validate() throws { _ = try Arguments.linkID(linkID) }
        func run() async throws {
            let id = try Arguments.linkID(linkID)
            let changed = try await global.open().revokeLink(id)
            print(changed ? "link \(id) is revoked" : "link \(id) was already revoked")
        }
    }

    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a client's links issued before a time (default: all issued so far).",
            discussion: "Links issued later keep working. A later call can move the time forward, never back.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientArgument
        @Option(help: ArgumentHelp("Revoke links issued before this time (ISO 8601 or Unix seconds).", valueName: "TIME"))
        var before: String?
        func validate() throws {
            if let before { _ = try Arguments.time(before, option: "--before") }
        }
        func run() async throws {
            let cutoff = try before.map { try Arguments.time($0, option: "--before") }
            let inForce = try await global.open().revokeClient(client.id, before: cutoff)
            print("links of client \(TerminalText.field(client.id.description)) issued before \(TimeText.format(inForce)) are revoked")
        }
    }
}
