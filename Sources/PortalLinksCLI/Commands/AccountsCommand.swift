import ArgumentParser
import PortalLinks
import PortalLinksCore
import PortalLinksStore

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "Accounts registered through portal links: list, show, disable, enable, unlock, remove, move.",
        discussion: """
            Disabling, removing or moving an account ends its sessions on every running server within a second. \
            Every action is recorded in the activity log (portal-links audit --account EMAIL) and the audit log.
            """,
        subcommands: [List.self, Show.self, Register.self, Disable.self, Enable.self, Unlock.self, Remove.self, Move.self])

    struct EmailArgument: ParsableArguments {
        @Argument(help: ArgumentHelp("The account's email (case and surrounding spaces do not matter).", valueName: "EMAIL"))
        var email: String

        /// As the store keeps it, for messages; the installation refuses a malformed one.
        var normalized: String { EmailAddress(email)?.normalized ?? email }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accounts by email, with their client, state and last sign-in.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only this client's accounts.", valueName: "ID")) var client: String?
        @Flag(help: "Print JSON.") var json = false
        func validate() throws { if let client { _ = try Arguments.clientID(client) } }
        func run() async throws {
            let installation = try await global.open()
            let accounts = try await installation.accounts(client: try client.map(Arguments.clientID))
            let now = installation.clock()
            if json {
                print(JSONText.array(accounts.map { JSONText.object(AccountOutput.fields($0, now: now)) }))
                return
            }
            guard !accounts.isEmpty else {
                print("no accounts")
                return
            }
            print("EMAIL                                   CLIENT                                STATE     LAST SIGN-IN          SIGN-INS")
            for account in accounts {
                print(AccountOutput.pad(TerminalText.field(account.email.normalized), 38) + "  " + AccountOutput.pad(TerminalText.field(account.clientID.description), 36) + "  "
                      + AccountOutput.pad(AccountOutput.state(account, now: now), 8) + "  "
                      + AccountOutput.pad(account.lastSignInAt.map(TimeText.format) ?? "never", 20) + "  \(account.signInCount)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One account: client, link, state, sign-ins.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let installation = try await global.open()
            let record = try await installation.account(email: account.email)
            let now = installation.clock()
            if json {
                print(JSONText.object(AccountOutput.fields(record, now: now)))
                return
            }
            print("email:        \(TerminalText.field(record.email.normalized))")
            print("name:         \(record.displayName.map { TerminalText.field($0) } ?? "(none)")")
            print("client:       \(TerminalText.field(record.clientID.description))")
            print("link:         \(record.linkID)")
            print("created:      \(TimeText.format(record.createdAt))")
            print("state:        \(AccountOutput.state(record, now: now))" + (record.lockedUntil.map { $0 > now ? " until \(TimeText.format($0))" : "" } ?? ""))
            print("failures:     \(record.failedAttempts)")
            print("last sign-in: \(record.lastSignInAt.map(TimeText.format) ?? "never")")
            print("sign-ins:     \(record.signInCount)")
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an account through a portal link, as Accounts.Register does; the password is read from standard input.",
            discussion: """
                For staff signing someone up by hand, and for trying the flow out. The password is the first line of \
                standard input (so it never shows in the process list or shell history): \
                printf '%s\\n' "$PASSWORD" | portal-links accounts register LINK --email ana@example.com
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The link: its token or the whole URL.", valueName: "LINK")) var link: String
        @Option(help: ArgumentHelp("The new account's email.", valueName: "EMAIL")) var email: String
        @Option(help: ArgumentHelp("The person's name, up to 200 characters.", valueName: "NAME")) var name: String?
        func run() async throws {
            guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
                throw PortalLinksError(.invalidInput, "give the password on standard input, for example: printf '%s\\n' \"$PASSWORD\" | portal-links accounts register ...")
            }
            let installation = try await global.open()
            let account = try await installation.register(link: TokenInput.extract(link), email: email, password: line,
                                                          displayName: name, caller: installation.actor)
            print("account \(TerminalText.field(account.email.normalized)) registered for client \(TerminalText.field(account.clientID.description)) through link \(account.linkID)")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse the account's sign-ins and end its sessions until enabled.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        func run() async throws {
            let changed = try await global.open().setAccount(email: account.email, disabled: true)
            print(changed ? "account \(TerminalText.field(account.normalized)) is disabled; its sessions have ended"
                          : "account \(account.normalized) was already disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a disabled account sign in again (old sessions stay ended).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        func run() async throws {
            let changed = try await global.open().setAccount(email: account.email, disabled: false)
            print(changed ? "account \(TerminalText.field(account.normalized)) is enabled" : "account \(TerminalText.field(account.normalized)) was not disabled")
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear a lockout after failed sign-ins.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        func run() async throws {
            let changed = try await global.open().unlockAccount(email: account.email)
            print(changed ? "account \(TerminalText.field(account.normalized)) is unlocked" : "account \(TerminalText.field(account.normalized)) was not locked")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the account and end its sessions; its activity stays in the log.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        func run() async throws {
            try await global.open().removeAccount(email: account.email)
            print("account \(TerminalText.field(account.normalized)) is removed; its sessions have ended")
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the account to another client (someone who joined through the wrong company's link); ends its sessions.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var account: EmailArgument
        @Option(help: ArgumentHelp("The client the account belongs to from now on.", valueName: "ID")) var client: String
        func validate() throws { _ = try Arguments.clientID(client) }
        func run() async throws {
            let installation = try await global.open()
            let target = try Arguments.clientID(client)
            let record = try await installation.account(email: account.email)
            let changed = try await installation.moveAccount(email: account.email, to: target)
            print(changed ? "account \(TerminalText.field(record.email.normalized)) moved from client \(TerminalText.field(record.clientID.description)) to \(TerminalText.field(target.description)); its sessions have ended"
                          : "account \(TerminalText.field(record.email.normalized)) already belongs to client \(TerminalText.field(target.description))")
        }
    }
}

enum AccountOutput {
    /// active, locked, disabled.
    static func state(_ account: AccountRecord, now: Int64) -> String {
        account.disabledAt != nil ? "disabled" : account.isLocked(at: now) ? "locked" : "active"
    }

    /// Never the password hash.
    static func fields(_ account: AccountRecord, now: Int64) -> [(String, Any?)] {
        [("email", account.email.normalized), ("client_id", account.clientID.description), ("display_name", account.displayName),
         ("link_id", account.linkID.description), ("created_at", account.createdAt), ("state", state(account, now: now)),
         ("locked_until", account.isLocked(at: now) ? account.lockedUntil : nil), ("failed_attempts", account.failedAttempts),
         ("last_sign_in_at", account.lastSignInAt), ("sign_in_count", account.signInCount)]
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text.padding(toLength: width, withPad: " ", startingAt: 0)
    }
}
