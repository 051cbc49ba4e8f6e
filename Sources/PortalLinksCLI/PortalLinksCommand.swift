import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore

struct PortalLinksCommand: AsyncParsableCommand {
    /// Printed by `--version` and written into every bench report.
    static let version = "0.21.0-dev"

    static let configuration = CommandConfiguration(
        commandName: "portal-links",
        abstract: "Signed invitation links for client portals: issue, verify, rotate keys, revoke, and the accounts registered through them.",
        discussion: """
            Exit status: 0 success (for verify: the link is valid), 1 refused or failed (for verify: the link is \
            invalid), 2 usage error; every failure is one line on standard error. Times are ISO 8601 \
            (2027-03-01T12:00:00Z, or a bare date meaning midnight UTC) or Unix seconds; durations are a number \
            and s, m, h, d or w.

            Environment: PORTAL_LINKS_HOME (the home directory), PORTAL_LINKS_STORE (the default --store; \
            PGPASSWORD for its password), PORTAL_LINKS_MASTER_KEY (64 hex digits, instead of the home's \
            master.key), PORTAL_LINKS_ACTOR (the audit log's name for you), PORTAL_LINKS_BASE_URL (the default \
            --base-url), PORTAL_LINKS_MAX_LIFETIME (the longest a link may live, default 365d), \
            PORTAL_LINKS_LEEWAY (seconds of clock difference tolerated, default 60), PORTAL_LINKS_CONFIG (serve's \
            settings file, docs/configuration.md; other commands take the home, store and master key from it).
            """,
        version: version,
        subcommands: [
            IssueCommand.self, VerifyCommand.self, InspectCommand.self, KeysCommand.self, RevokeCommand.self,
            ClientsCommand.self, LinksCommand.self, AccountsCommand.self, AuditCommand.self, CallersCommand.self, ServeCommand.self, ConfigCommand.self,
            BenchCommand.self, ConformanceServerCommand.self, MigrateStoreCommand.self,
        ])
}

@main
enum Main {
    static func main() async {
        do {
            var command = try PortalLinksCommand.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
    }

    /// Every failure is one line on stderr and an exit status: 2 for usage errors, 1 for anything refused.
    static func exit(reporting error: any Error) -> Never {
        // Help and version requests, and explicit exit statuses, are ArgumentParser's to print.
        if PortalLinksCommand.exitCode(for: error) == .success || error is ExitCode {
            PortalLinksCommand.exit(withError: error)
        }
        let status: Int32
        let message: String
        switch error {
        case let error as PortalLinksError:
            status = error.code == .invalidInput ? 2 : 1
            message = error.message
        default:
            if PortalLinksCommand.exitCode(for: error) == .validationFailure {
                status = 2
                message = PortalLinksCommand.message(for: error)
            } else {
                status = 1
                message = "\(error)"  // the stores translate their libraries' errors into one line
            }
        }
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("portal-links: \(line)\n".utf8))
        Foundation.exit(status)
    }
}
