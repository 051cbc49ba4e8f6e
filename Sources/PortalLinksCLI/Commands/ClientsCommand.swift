import ArgumentParser
import PortalLinks
import PortalLinksCore

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Disable or re-enable a client: its links, and the sign-ins and sessions of its accounts.",
        subcommands: [Disable.self, Enable.self])

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse every link of a client, its accounts' sign-ins and sessions, until enabled.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientArgument
        func run() async throws {
            let changed = try await global.open().setClient(client.id, disabled: true)
            print(changed ? "client \(TerminalText.field(client.id.description)) is disabled: its links are refused, its accounts cannot sign in and their sessions are refused"
                          : "client \(TerminalText.field(client.id.description)) was already disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a disabled client's links and its accounts' sign-ins and sessions again.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientArgument
        func run() async throws {
            let changed = try await global.open().setClient(client.id, disabled: false)
            print(changed ? "client \(TerminalText.field(client.id.description)) is enabled: its links, sign-ins and sessions work again"
                          : "client \(TerminalText.field(client.id.description)) was not disabled")
        }
    }
}
