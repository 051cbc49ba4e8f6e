import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksMail

struct IssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue an invitation link for a client, or one per row of a CSV file.",
        discussion: """
            Links last 90 days unless --expires says otherwise, at most the policy maximum (365 days; \
            PORTAL_LINKS_MAX_LIFETIME changes it). The default format is url when a base URL is known \
            (--base-url or PORTAL_LINKS_BASE_URL), else token.
            CSV input has the columns client_id,name,expires,sent_to (a header row is optional; several \
            addresses in sent_to are separated by ';'). Good rows are issued even when others are refused.
            --send emails the invitation to the --sent-to addresses (docs/email.md): the link is issued and \
            recorded first, then each address is sent to once and its outcome printed; when one fails, the \
            exit status is 1 and the link stays valid and recorded.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Client ID: a UUID or a short text ID.", valueName: "ID"))
    var client: String?

    @Option(help: ArgumentHelp("Display name carried in the link, such as \"Acme Corp\".", valueName: "NAME"))
    var name: String?

    @Option(help: ArgumentHelp("Lifetime (90d, 30d, 14d, 7d, 24h, ...) or an expiry time (ISO 8601 or Unix seconds).", valueName: "WHEN"))
    var expires: String?

    @Option(name: .customLong("base-url"), help: ArgumentHelp("Portal address the token is appended to as ?token=.", valueName: "URL"))
    var baseURL: String?

    @Option(name: .customLong("sent-to"), help: ArgumentHelp("Email address the link goes to (repeatable), kept in the ledger.", valueName: "EMAIL"))
    var sentTo: [String] = []

    @Option(name: .customLong("max-accounts"), help: ArgumentHelp("At most this many accounts may register through the link (1 for a personal invitation); no cap by default.", valueName: "N"))
    var maximumAccounts: Int?

    @Option(help: "Output: url, token, html, iframe, email or json.")
    var format: LinkFormat?

    @Option(help: ArgumentHelp("Issue one link per row of this CSV file.", valueName: "FILE"))
    var csv: String?

    @Option(help: ArgumentHelp("With --csv: write the links' CSV here instead of standard output.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Email the invitation to the --sent-to addresses, or with --csv to each row's sent_to (SMTP, or --outbox DIR).")
    var send = false

    @Option(help: ArgumentHelp("With --csv --send: at most this many emails a second, for the provider's sending limit (default: as fast as the server takes them).", valueName: "N"))
    var rate: Double?

    @OptionGroup var mail: MailOptions

    func validate() throws {
        if csv == nil, client == nil { throw ValidationError("--client is required (or --csv FILE for many links)") }
        if csv != nil, client != nil || name != nil || expires != nil || !sentTo.isEmpty {
            throw ValidationError("--csv takes the client, name, expiry and addresses from the file; drop --client, --name, --expires and --sent-to")
        }
        if output != nil, csv == nil { throw ValidationError("--output goes with --csv") }
        if let maximumAccounts, !(1...1_000_000).contains(maximumAccounts) {
            throw ValidationError("--max-accounts takes a number from 1 to 1000000")
        }
        if csv != nil, maximumAccounts != nil { throw ValidationError("--max-accounts goes with --client, not --csv") }
        if let baseURL { _ = try LinkRenderer.checkedBaseURL(baseURL) }
        if send, csv == nil, sentTo.isEmpty { throw ValidationError("--send sends to the --sent-to addresses: give at least one") }
        if let rate, !(0.01...10_000).contains(rate) { throw ValidationError("--rate takes 0.01 to 10000 emails a second") }
        if rate != nil, !send || csv == nil { throw ValidationError("--rate goes with --csv and --send") }
        for address in sentTo where send && !MailAddress.isSendable(address.trimmingCharacters(in: .whitespaces)) {
            throw ValidationError("--sent-to '\(TerminalText.field(address))' is not an address mail can be sent to")
        }
        if !send, mail.outbox != nil { throw ValidationError("--outbox goes with --send") }
        if !send, format != .email, mail.templateDirectory != nil { throw ValidationError("--template-dir goes with --send or --format email") }
    }

    func run() async throws {
        let base = try (baseURL ?? global.environment["PORTAL_LINKS_BASE_URL"]).map(LinkRenderer.checkedBaseURL)
        var renderer = try LinkRenderer(baseURL: base, format: format ?? (base == nil ? .token : .url))
        if renderer.format == .email {
            renderer.invitation = InvitationMail(template: try mail.template(.invitation, global.environment),
                                                 from: mail.sender(global.environment) ?? "",
                                                 contact: mail.contact(global.environment))
        }
        // Everything about sending is checked before a link exists.
        let sender = send ? try mail.invitationSender(.invitation, baseURL: base, global.environment) : nil
        if let csv {
            try await BulkIssue(csvPath: csv, outputPath: output, renderer: renderer, sender: sender, rate: rate).run(global.open())
            return
        }
        let clientID = try Arguments.clientID(client!)
        let installation = try await global.open()
        var expiresAt: Int64?
        if let expires {
            guard let parsed = TimeText.parseExpiry(expires, now: installation.clock()) else {
                throw ValidationError("--expires takes a lifetime such as 90d or 24h, or a time such as 2027-03-01T12:00:00Z")
            }
            expiresAt = parsed
        }
        let link = try await installation.issue(IssueRequest(
            clientID: clientID, displayName: name?.trimmingCharacters(in: .whitespaces), expiresAt: expiresAt,
            sentTo: sentTo.map { $0.trimmingCharacters(in: .whitespaces) }, maximumAccounts: maximumAccounts))
        print(renderer.render(link))
        if let sender {
            try InvitationSender.report(try await sender.send(link, installation), link: link.linkID)
        }
    }
}
