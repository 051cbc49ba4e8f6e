import ArgumentParser
import PortalLinks
import PortalLinksCore

struct CallersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callers",
        abstract: "The front-end servers allowed to call the verify service, each with its own API key.",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a caller and print its API key, once: only a hash of it is kept.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("Letters, digits, '-', '_' or '.', up to 64.", valueName: "NAME")) var name: String
        @Option(help: ArgumentHelp("What it may call: verify, issue, accounts (comma-separated).", valueName: "SCOPES"))
        var scopes: String = "verify"

        func validate() throws { _ = try parsedScopes() }

        func parsedScopes() throws -> [CallerScope] {
            try scopes.split(separator: ",").map { text in
                guard let scope = CallerScope(rawValue: text.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--scopes takes verify, issue and accounts, comma-separated")
                }
                return scope
            }
        }

        func run() async throws {
            let key = try await global.open().addCaller(named: name, scopes: parsedScopes())
            print(key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Callers, their scopes, and whether they are revoked.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let callers = try await global.open().callers()
            if json {
                print(JSONText.array(callers.map {
                    JSONText.object([("name", $0.name), ("scopes", $0.scopes), ("created_at", $0.createdAt), ("revoked_at", $0.revokedAt)])
                }))
                return
            }
            guard !callers.isEmpty else {
                print("no callers: add one with: portal-links callers add NAME --scopes verify")
                return
            }
            for caller in callers {
                let status = caller.revokedAt.map { "revoked \(TimeText.format($0))" } ?? "active"
                print("\(caller.name.padding(toLength: 24, withPad: " ", startingAt: 0))  \(caller.scopes.joined(separator: ",").padding(toLength: 12, withPad: " ", startingAt: 0))  \(status)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a caller's API key; its connections lose their authentication within a second.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The caller.", valueName: "NAME")) var name: String
        func run() async throws {
            guard try await global.open().revokeCaller(named: name) else {
                throw PortalLinksError(.notFound, "no active caller named '\(name)'")
            }
            print("caller \(name) is revoked")
        }
    }
}
