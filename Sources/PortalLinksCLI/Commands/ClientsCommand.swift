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
        @Argument(help: ArgumentHelp("The client.", valueName: "CLIENT_ID")) var clientID: String
        func validate() throws { _ = try Arguments.clientID(clientID) }
        func run() async throws {
            let client = try Arguments.clientID(clientID)
            let changed = try await global.open().setClient(client, disabled: true)
            print(changed ? "client \(client) is disabled" : "client \(client) was already disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept a disabled client's links again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The client.", valueName: "CLIENT_ID")) var clientID: String
        func validate() throws { _ = try Arguments.clientID(clientID) }
        func run() async throws {
            let client = try Arguments.clientID(clientID)
            let changed = try await global.open().setClient(client, disabled: false)
            print(changed ? "client \(client) is enabled" : "client \(client) was not disabled")
        }
    }
}
