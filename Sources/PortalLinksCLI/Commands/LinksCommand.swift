import ArgumentParser
import PortalLinks
import PortalLinksCore
import PortalLinksStore

struct LinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "links",
        abstract: "The ledger of issued links (never the tokens themselves).",
        subcommands: [List.self, Expiring.self, Show.self, Resend.self, Renew.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issued links, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only this client's links.", valueName: "ID")) var client: String?
        @Flag(help: "Print JSON.") var json = false
        func validate() throws { if let client { _ = try Arguments.clientID(client) } }
        func run() async throws {
            let installation = try await global.open()
            let clientID = try client.map(Arguments.clientID)
            let entries = try await installation.store.ledgerEntries(client: clientID, expiringIn: nil)
            let deliveries = try await installation.store.deliveries(link: nil, client: clientID)
            LedgerOutput.print(entries, deliveries: Dictionary(grouping: deliveries, by: \.linkID), json: json, now: installation.clock())
        }
    }

    struct Expiring: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Links that expire within a duration from now.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("How far ahead to look, such as 14d.", valueName: "DURATION")) var within: String
        @Flag(help: "Print JSON.") var json = false
        func validate() throws { _ = try Arguments.duration(within, option: "--within") }
        func run() async throws {
            let installation = try await global.open()
            let now = installation.clock()
            let window = now...now.addingReportingOverflow(try Arguments.duration(within, option: "--within")).partialValue
            let entries = try await installation.store.ledgerEntries(client: nil, expiringIn: window)
            let deliveries = try await installation.store.deliveries(link: nil, client: nil)
            LedgerOutput.print(entries.sorted { $0.expiresAt < $1.expiresAt }, deliveries: Dictionary(grouping: deliveries, by: \.linkID),
                               json: json, now: now)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One link: its ledger entry, whether it works, its invitation status and the accounts registered through it.",
            discussion: """
                Invitation status: revoked, expired, accepted (at least one account registered) or pending (none yet),                 in that order of precedence.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The link.", valueName: "LINK_ID")) var linkID: String
        @Flag(help: "Print JSON.") var json = false
        func validate() throws { _ = try Arguments.linkID(linkID) }
        func run() async throws {
            let id = try Arguments.linkID(linkID)
            let installation = try await global.open()
            guard let entry = try await installation.store.ledgerEntry(id) else {
                throw PortalLinksError(.notFound, "link \(id) is not in this installation's ledger")
            }
            let revocation = try await installation.store.revocationStatus(of: id, client: entry.clientID)
            let ring = try await installation.ring()
            let now = installation.clock()
            let keyState = ring.key(entry.keyID).map { installation.effectiveState(of: $0, in: ring) }
            let status = LedgerOutput.status(entry, revocation: revocation, keyState: keyState, now: now)
            let invitation = try await installation.invitation(entry, revocation: revocation)
            let deliveries = try await installation.store.deliveries(link: id, client: nil)
            if json {
                let accounts = RawJSON(text: JSONText.array(invitation.accounts.map { JSONText.object(AccountOutput.fields($0, now: now)) }))
                print(JSONText.object(LedgerOutput.fields(entry, deliveries: deliveries) + [("status", status), ("invitation", invitation.status),
                                                                                        ("accounts", accounts)]))
                return
            }
            print("link_id:  \(entry.linkID)")
            print("status:   \(status)")
            print("client:   \(TerminalText.field(entry.clientID.description))" + (entry.displayName.map { " (\(TerminalText.field($0)))" } ?? ""))
            print("issued:   \(TimeText.format(entry.issuedAt)) by \(TerminalText.field(entry.issuedBy))")
            print("expires:  \(TimeText.format(entry.expiresAt))")
            print("key:      \(entry.keyID) (\(keyState?.rawValue ?? "unknown"))")
            if let replaces = entry.replaces { print("replaces: \(replaces)") }
            print("sent to:  \(entry.sentTo.isEmpty ? "(not recorded)" : TerminalText.field(entry.sentTo.joined(separator: ", ")))")
            for delivery in deliveries {
                print("  \(TerminalText.field(delivery.address))  \(delivery.state) \(TimeText.format(delivery.at))  \(TerminalText.field(delivery.detail))")
            }
            print("invitation: \(invitation.status)" + (entry.maximumAccounts.map { " (at most \($0) account\($0 == 1 ? "" : "s"))" } ?? ""))
            print(invitation.accounts.isEmpty ? "accounts: none" : "accounts:")
            for account in invitation.accounts {
                print("  \(TerminalText.field(account.email.normalized))  registered \(TimeText.format(account.createdAt))  \(AccountOutput.state(account, now: now))")
            }
        }
    }
}

enum LedgerOutput {
    static func fields(_ entry: LedgerEntry, deliveries: [DeliveryRecord]) -> [(String, Any?)] {
        [("link_id", entry.linkID.description), ("client_id", entry.clientID.description), ("display_name", entry.displayName),
         ("issued_at", entry.issuedAt), ("expires_at", entry.expiresAt), ("key_id", entry.keyID.description),
         ("sent_to", entry.sentTo), ("issued_by", entry.issuedBy), ("max_accounts", entry.maximumAccounts),
         ("replaces", entry.replaces?.description),
         ("deliveries", RawJSON(text: JSONText.array(deliveries.map {
             JSONText.object([("address", $0.address), ("state", $0.state), ("detail", $0.detail), ("at", $0.at)])
         })))]
    }

    /// `2 sent, 1 failed`, or `-` for a link never emailed.
    static func deliverySummary(_ deliveries: [DeliveryRecord]) -> String {
        let sent = deliveries.filter { $0.state == "sent" }.count, failed = deliveries.count - sent
        if deliveries.isEmpty { return "-" }
        return [sent > 0 ? "\(sent) sent" : nil, failed > 0 ? "\(failed) failed" : nil].compactMap { $0 }.joined(separator: ", ")
    }

    /// active, expired, revoked (link or client), disabled (client or key).
    static func status(_ entry: LedgerEntry, revocation: RevocationStatus, keyState: KeyState?, now: Int64) -> String {
        if revocation.linkRevokedAt != nil { return "revoked" }
        if let before = revocation.clientRevokedBefore, entry.issuedAt < before { return "revoked (client)" }
        if now > entry.expiresAt { return "expired" }
        if revocation.clientDisabledAt != nil { return "disabled (client)" }
        if let keyState, !keyState.verifies { return "refused (key \(keyState.rawValue))" }
        return "active"
    }

    static func print(_ entries: [LedgerEntry], deliveries: [LinkID: [DeliveryRecord]], json: Bool, now: Int64) {
        if json {
            Swift.print(JSONText.array(entries.map { JSONText.object(fields($0, deliveries: deliveries[$0.linkID] ?? [])) }))
            return
        }
        guard !entries.isEmpty else {
            Swift.print("no links")
            return
        }
        Swift.print("LINK_ID           CLIENT                                EXPIRES               EMAILED          NAME")
        for entry in entries {
            let expired = entry.expiresAt < now ? " (expired)" : ""
            let emailed = deliverySummary(deliveries[entry.linkID] ?? []).padding(toLength: 16, withPad: " ", startingAt: 0)
            Swift.print("\(entry.linkID)  \(TerminalText.field(entry.clientID.description).padding(toLength: 36, withPad: " ", startingAt: 0))  \(TimeText.format(entry.expiresAt))  \(emailed)  \(TerminalText.field(entry.displayName ?? ""))\(expired)")
        }
    }
}
