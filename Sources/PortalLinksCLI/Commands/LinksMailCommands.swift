import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksMail
import PortalLinksStore

extension LinksCommand {
    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a client a new link: same client, name, recipients and account cap, emailed again.",
            discussion: """
                The new link lasts as long as the old one did unless --expires says otherwise, and the ledger \
                records which link it replaces. The old link keeps working unless --revoke-old (revoked once the \
                new one is issued, whatever the sending did). Exit status 1 when an address was not sent to; \
                the new link is issued and recorded either way. docs/email.md.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The link to replace.", valueName: "LINK_ID")) var linkID: String
        @Option(help: ArgumentHelp("Lifetime of the new link (7d, 90d, ...) or its expiry time.", valueName: "WHEN")) var expires: String?
        @Flag(name: .customLong("revoke-old"), help: "Revoke the old link once the new one is issued.") var revokeOld = false
        @Option(name: .customLong("base-url"), help: ArgumentHelp("Portal address the token is appended to as ?token= (default: $PORTAL_LINKS_BASE_URL).", valueName: "URL"))
        var baseURL: String?
        @OptionGroup var mail: MailOptions

        func validate() throws {
            _ = try Arguments.linkID(linkID)
            if let baseURL { _ = try LinkRenderer.checkedBaseURL(baseURL) }
        }

        func run() async throws {
            let id = try Arguments.linkID(linkID)
            let base = try (baseURL ?? global.environment["PORTAL_LINKS_BASE_URL"]).map(LinkRenderer.checkedBaseURL)
            let sender = try mail.invitationSender(.invitation, baseURL: base, global.environment)
            let installation = try await global.open()
            guard let old = try await installation.store.ledgerEntry(id) else {
                throw PortalLinksError(.notFound, "link \(id) is not in this installation's ledger")
            }
            guard !old.sentTo.isEmpty else {
                throw PortalLinksError(.invalidInput, "link \(id) was not sent to anyone: issue a new link with --sent-to and --send")
            }
            let link = try await installation.issue(Renewal.request(replacing: old, expires: expires, now: installation.clock()))
            print(sender.renderer.render(link))
            let deliveries = try await sender.send(link, installation)
            if revokeOld {
                _ = try await installation.revokeLink(id)
                FileHandle.standardError.write(Data("portal-links: revoked link \(id)\n".utf8))
            }
            try InvitationSender.report(deliveries, link: link.linkID)
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue replacements for links about to expire, and with --send email them (safe to run from cron).",
            discussion: """
                A link is renewed when it expires within --expiring-within, was sent to someone, works (not \
                revoked, its client not revoked or disabled) and has not been replaced already: so running it \
                again renews and sends nothing twice. The replacement has the old link's client, name, \
                recipients, account cap and lifetime (or --expires, which must outlast the window). Prints the new links as CSV (replaces, \
                client_id, name, link_id, expires_at, link, sent_to); --send emails each with the renewal \
                template; --dry-run lists what would be renewed and changes nothing. docs/email.md.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("expiring-within"), help: ArgumentHelp("Renew links that expire within this long from now, such as 14d.", valueName: "DURATION"))
        var expiringWithin: String
        @Flag(help: "Email each replacement to its recipients with the renewal template.") var send = false
        @Flag(name: .customLong("dry-run"), help: "List the links that would be renewed; issue and send nothing.") var dryRun = false
        @Option(help: ArgumentHelp("Lifetime of the replacements (default: each old link's).", valueName: "WHEN")) var expires: String?
        @Option(name: .customLong("base-url"), help: ArgumentHelp("Portal address the token is appended to as ?token= (default: $PORTAL_LINKS_BASE_URL).", valueName: "URL"))
        var baseURL: String?
        @OptionGroup var mail: MailOptions

        func validate() throws {
            _ = try Arguments.duration(expiringWithin, option: "--expiring-within")
            if let baseURL { _ = try LinkRenderer.checkedBaseURL(baseURL) }
            if dryRun, send { throw ValidationError("--dry-run sends nothing: give --send or --dry-run") }
        }

        func run() async throws {
            let base = try (baseURL ?? global.environment["PORTAL_LINKS_BASE_URL"]).map(LinkRenderer.checkedBaseURL)
            let sender = send ? try mail.invitationSender(.renewal, baseURL: base, global.environment) : nil
            let renderer = try LinkRenderer(baseURL: base, format: base == nil ? .token : .url)
            let installation = try await global.open()
            let now = installation.clock()
            let due = try await Renewal.due(installation, within: try Arguments.duration(expiringWithin, option: "--expiring-within"), now: now)
            guard !due.isEmpty else {
                FileHandle.standardError.write(Data("portal-links: no link to renew\n".utf8))
                return
            }
            if dryRun {
                print(CSV.line(["link_id", "client_id", "name", "expires_at", "sent_to"]))
                for entry in due {
                    print(CSV.line([entry.linkID.description, entry.clientID.description, entry.displayName ?? "",
                                    TimeText.format(entry.expiresAt), entry.sentTo.joined(separator: ";")]))
                }
                FileHandle.standardError.write(Data("portal-links: \(due.count) links would be renewed (dry run: nothing issued or sent)\n".utf8))
                return
            }
            let window = try Arguments.duration(expiringWithin, option: "--expiring-within")
            let requests = try due.map { try Renewal.request(replacing: $0, expires: expires, now: now) }
            // A replacement that would itself expire within the window would be renewed again on the next run.
            for (entry, request) in zip(due, requests) where request.expiresAt! <= now + window {
                throw PortalLinksError(.invalidInput, "link \(entry.linkID)'s replacement would expire within the \(expiringWithin) window "
                                       + "and be renewed again on every run: give --expires longer than the window")
            }
            let results = try await installation.issue(requests)
            print(CSV.line(["replaces", "client_id", "name", "link_id", "expires_at", "link", "sent_to"]))
            var issued: [IssuedLink] = [], refused = 0
            for (entry, result) in zip(due, results) {
                switch result {
                case .success(let link):
                    issued.append(link)
                    print(CSV.line([entry.linkID.description, link.claims.clientID.description, link.claims.displayName ?? "",
                                    link.linkID.description, TimeText.format(link.claims.expiresAt), renderer.url(for: link.token) ?? link.token,
                                    link.sentTo.joined(separator: ";")]))
                case .failure(let error):
                    refused += 1
                    FileHandle.standardError.write(Data("portal-links: link \(entry.linkID) not renewed: \(TerminalText.field(error.message))\n".utf8))
                }
            }
            var notSent = 0
            if let sender {
                for link in issued {
                    for delivery in try await sender.send(link, installation) where delivery.state == .failed {
                        notSent += 1
                        FileHandle.standardError.write(Data("portal-links: \(TerminalText.field("link \(link.linkID): not sent to \(delivery.address): \(delivery.detail)"))\n".utf8))
                    }
                }
            }
            FileHandle.standardError.write(Data("portal-links: renewed \(issued.count) links\(sender == nil ? "" : ", \(notSent) addresses not sent to")\n".utf8))
            if refused > 0 || notSent > 0 { throw ExitCode(1) }
        }
    }
}

/// Which links are due for renewal, and what replaces one.
enum Renewal {
    /// Links expiring within `window` from `now` that were sent to someone, still work and have no replacement.
    static func due(_ installation: Installation, within window: Int64, now: Int64) async throws -> [LedgerEntry] {
        let all = try await installation.store.ledgerEntries(client: nil, expiringIn: nil)
        let replaced = Set(all.compactMap(\.replaces))
        var due: [LedgerEntry] = []
        for entry in all where entry.expiresAt > now && entry.expiresAt <= now + window && !entry.sentTo.isEmpty
            && !replaced.contains(entry.linkID) {
            let revocation = try await installation.store.revocationStatus(of: entry.linkID, client: entry.clientID)
            let revoked = revocation.linkRevokedAt != nil || (revocation.clientRevokedBefore.map { entry.issuedAt < $0 } ?? false)
            if !revoked, revocation.clientDisabledAt == nil { due.append(entry) }
        }
        return due.sorted { ($0.expiresAt, $0.linkID.rawValue) < ($1.expiresAt, $1.linkID.rawValue) }
    }

    /// A link like `old` (client, name, recipients, cap), for as long as `old` lasted unless `expires` says.
    static func request(replacing old: LedgerEntry, expires: String?, now: Int64) throws -> IssueRequest {
        var expiresAt = now + (old.expiresAt - old.issuedAt)
        if let expires {
            guard let parsed = TimeText.parseExpiry(expires, now: now) else {
                throw ValidationError("--expires takes a lifetime such as 90d or 24h, or a time such as 2027-03-01T12:00:00Z")
            }
            expiresAt = parsed
        }
        return IssueRequest(clientID: old.clientID, displayName: old.displayName, expiresAt: expiresAt, sentTo: old.sentTo,
                            maximumAccounts: old.maximumAccounts, replaces: old.linkID)
    }
}
