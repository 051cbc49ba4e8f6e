import ArgumentParser
import PortalLinks
import PortalLinksCore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List and change the signing keys.",
        discussion: """
            States: staged (verifies, does not sign), primary (signs and verifies; exactly one), retiring (verifies \
            until the last thing it signed has expired: its last link, and a session or reset token signed as it \
            retired, 12 hours and 1 hour later; then expired on its own), disabled (refuses what it signed until \
            enabled; any key but the primary), destroyed (material zeroed, ID kept so it is never reused; disabled \
            and expired keys only). Running servers pick up every change within a second.
            """,
        subcommands: [List.self, Add.self, Promote.self, Rotate.self, Disable.self, Enable.self, Destroy.self, Prune.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the keys and their states.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Include destroyed keys.") var all = false

        func run() async throws {
            let installation = try await global.open()
            let ring = try await installation.ring()
            let keys = ring.keys.filter { all || $0.state != .destroyed }
            if json {
                print(JSONText.array(keys.map { key in
                    JSONText.object([
                        ("key_id", key.id.description), ("state", installation.effectiveState(of: key, in: ring).rawValue),
                        ("created_at", key.createdAt), ("promoted_at", key.promotedAt), ("retired_at", key.retiredAt),
                        ("verifies_until", key.verifiesUntil),
                    ])
                }))
                return
            }
            guard !keys.isEmpty else {
                print("no keys yet: the first 'issue' or 'keys rotate' creates the primary key")
                return
            }
            print("KEY_ID    STATE      CREATED               NOTE")
            for key in keys.reversed() {
                let state = installation.effectiveState(of: key, in: ring)
                var note = ""
                if state == .retiring, let until = key.verifiesUntil { note = "verifies until \(TimeText.format(until))" }
                if state == .disabled, let previous = key.stateBeforeDisable { note = "enable returns it to \(previous.rawValue)" }
                print("\(key.id)  \(state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(TimeText.format(key.createdAt))  \(note)")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a staged key: verifiers learn it before it signs.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let id = try await global.open().addKey()
            print("added staged key \(id); make it primary with: portal-links keys promote \(id)")
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a staged key primary; the old primary retires.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: KeyArgument
        func run() async throws {
            try await global.open().promoteKey(key.id)
            print("key \(key.id) is now primary")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new primary key; the old primary retires.",
            discussion: "With --emergency the old primary is disabled at once and every link it signed stops working.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Disable the old primary instead of retiring it.") var emergency = false
        func run() async throws {
            let id = try await global.open().rotateKeys(emergency: emergency)
            print("key \(id) is now primary" + (emergency ? "; the previous primary is disabled" : "; the previous primary is retiring"))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse every link a key signed (any key but the primary).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: KeyArgument
        func run() async throws {
            try await global.open().disableKey(key.id)
            print("key \(key.id) is disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Return a disabled key to the state it was disabled from.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: KeyArgument
        func run() async throws {
            let installation = try await global.open()
            try await installation.enableKey(key.id)
            let ring = try await installation.ring()
            let state = ring.key(key.id).map { installation.effectiveState(of: $0, in: ring).rawValue } ?? "?"
            print("key \(key.id) is \(state) again")
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Zero a disabled or expired key's material for good.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var key: KeyArgument
        func run() async throws {
            try await global.open().destroyKey(key.id)
            print("key \(key.id) is destroyed")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy keys whose links have all expired and drop revocations of expired links.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let (keys, revocations) = try await global.open().prune()
            print("destroyed \(keys.count) expired keys" + (keys.isEmpty ? "" : " (\(keys.map(\.description).joined(separator: ", ")))")
                  + "; removed \(revocations) expired revocations")
        }
    }
}
