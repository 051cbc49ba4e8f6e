import ArgumentParser
import PortalLinks
import PortalLinksCore

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Disable or re-enable every link of a client.",
        subcommands: [Disable.self, Enable.self])

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse every link of a client until enabled.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientArgument
        func run() async throws {
            let changed = try await global.open().setClient(client.id, disabled: true)
            print(changed ? "client \(client.id) is disabled" : "client \(client.id) was already disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept a disabled client's links again.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientArgument
        func run() async throws {
            let changed = try await global.open().setClient(client.id, disabled: false)
            print(changed ? "client \(client.id) is enabled" : "client \(client.id) was not disabled")
        }
    }
}
