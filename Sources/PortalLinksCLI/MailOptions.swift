import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksStore
import PortalLinksMail

/// How a command sends email: an SMTP server, or an outbox folder for development. docs/email.md.
struct MailOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The SMTP server: smtp://HOST[:587] (STARTTLS required) or smtps://HOST[:465] (default: $PORTAL_LINKS_SMTP).", valueName: "URL"))
    var smtp: String?

    @Option(name: .customLong("smtp-user"), help: ArgumentHelp("The SMTP account (default: $PORTAL_LINKS_SMTP_USER); its password comes from $PORTAL_LINKS_SMTP_PASSWORD or --smtp-password-file, never the command line.", valueName: "USER"))
    var smtpUser: String?

    @Option(name: .customLong("smtp-password-file"), help: ArgumentHelp("A file (mode 0600) holding the SMTP password (default: $PORTAL_LINKS_SMTP_PASSWORD_FILE).", valueName: "FILE"))
    var smtpPasswordFile: String?

    @Option(name: .customLong("smtp-ca-file"), help: ArgumentHelp("Certificates to trust for the SMTP server instead of the system's (default: $PORTAL_LINKS_SMTP_CA_FILE).", valueName: "FILE"))
    var smtpCAFile: String?

    @Option(name: .customLong("mail-from"), help: ArgumentHelp("The sender address (default: $PORTAL_LINKS_MAIL_FROM).", valueName: "EMAIL"))
    var mailFrom: String?

    @Option(name: .customLong("mail-contact"), help: ArgumentHelp("Whom recipients write to about their link (default: $PORTAL_LINKS_MAIL_CONTACT, else the sender).", valueName: "EMAIL"))
    var mailContact: String?

    @Option(name: .customLong("template-dir"), help: ArgumentHelp("Templates replacing the built-in ones: invitation.subject, invitation.txt, invitation.html, ... (default: $PORTAL_LINKS_TEMPLATE_DIR).", valueName: "DIR"))
    var templateDirectory: String?

    @Option(help: ArgumentHelp("Write each email as an .eml file (0600) here instead of sending it: for development (default: $PORTAL_LINKS_OUTBOX).", valueName: "DIR"))
    var outbox: String?

    /// An option, else its environment variable; empty counts as unset.
    static func setting(_ option: String?, _ variable: String, _ environment: [String: String]) -> String? {
        [option, environment[variable]].compactMap { $0 }.first { !$0.isEmpty }
    }

    func sender(_ environment: [String: String]) -> String? { Self.setting(mailFrom, "PORTAL_LINKS_MAIL_FROM", environment) }

    /// Where mail goes, checked before anything is issued: one error naming what is missing or wrong.
    func mailer(_ environment: [String: String], for purpose: String = "--send") throws -> Mailer {
        func setting(_ option: String?, _ variable: String) -> String? { Self.setting(option, variable, environment) }
        let from = sender(environment)
        if let outbox = setting(outbox, "PORTAL_LINKS_OUTBOX") {
            return .outbox(Outbox(directory: outbox), from: from ?? "portal-links@localhost")
        }
        guard let url = setting(smtp, "PORTAL_LINKS_SMTP") else {
            throw ValidationError("\(purpose) needs an SMTP server (--smtp URL or PORTAL_LINKS_SMTP), or --outbox DIR to write the emails to files")
        }
        guard let from else { throw ValidationError("\(purpose) needs the sender address: --mail-from EMAIL or PORTAL_LINKS_MAIL_FROM") }
        let user = setting(smtpUser, "PORTAL_LINKS_SMTP_USER")
        // --smtp-password-file, else the password in the environment, else a file the environment (or serve's
        // configuration file) names.
        var password = try smtpPasswordFile.map { try SecretFile.read($0, for: "--smtp-password-file") }
        password = password ?? environment["PORTAL_LINKS_SMTP_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        if password == nil, let file = setting(nil, "PORTAL_LINKS_SMTP_PASSWORD_FILE") {
            password = try SecretFile.read(file, for: "PORTAL_LINKS_SMTP_PASSWORD_FILE")
        }
        if user != nil, password == nil {
            throw ValidationError("--smtp-user needs its password in PORTAL_LINKS_SMTP_PASSWORD or a file (--smtp-password-file)")
        }
        do {
            return .smtp(try SMTPConfiguration(url: url, username: user, password: password,
                                               caFile: setting(smtpCAFile, "PORTAL_LINKS_SMTP_CA_FILE"), from: from))
        } catch let error as MailError {
            throw ValidationError(error.description)
        }
    }

    func template(_ kind: MailTemplate.Kind, _ environment: [String: String]) throws -> MailTemplate {
        do {
            return try MailTemplate.load(kind, directory: Self.setting(templateDirectory, "PORTAL_LINKS_TEMPLATE_DIR", environment))
        } catch let error as MailError {
            throw ValidationError(error.description)
        }
    }

    func contact(_ environment: [String: String]) -> String? {
        Self.setting(mailContact, "PORTAL_LINKS_MAIL_CONTACT", environment)
    }
}

/// Emails issued links with one template, and keeps each recipient's outcome in the ledger.
struct InvitationSender {
    let queue: MailQueue
    let mail: InvitationMail
    let renderer: LinkRenderer

    init(mailer: Mailer, mail: InvitationMail, baseURL: String) throws {
        queue = mailer.start()
        self.mail = mail
        renderer = try LinkRenderer(baseURL: baseURL, format: .url)
    }

    /// Sends `link` to its addresses, records each outcome, and returns them.
    func send(_ link: IssuedLink, _ installation: Installation) async throws -> [Delivery] {
        let message = mail.message(url: renderer.url(for: link.token)!, clientID: link.claims.clientID, displayName: link.claims.displayName,
                                   expiresAt: link.claims.expiresAt, to: link.sentTo, at: installation.clock())
        let deliveries = await queue.deliver(message, name: "link-\(link.linkID)")
        try await installation.store.recordDeliveries(deliveries.map { $0.record(link.linkID, at: installation.clock()) },
                                                      actor: installation.actor, at: installation.clock())
        return deliveries
    }

    /// One line per recipient on stderr; exit status 1 when any was not sent. Never the token.
    static func report(_ deliveries: [Delivery], link: LinkID) throws {
        for delivery in deliveries {
            let line = delivery.state == .sent
                ? "sent link \(link) to \(delivery.address): \(delivery.detail)"
                : "not sent to \(delivery.address): \(delivery.detail)"
            FileHandle.standardError.write(Data("portal-links: \(TerminalText.field(line))\n".utf8))
        }
        if deliveries.contains(where: { $0.state == .failed }) { throw ExitCode(1) }
    }
}

extension MailOptions {
    /// Everything about sending `kind` checked, before any link is issued.
    func invitationSender(_ kind: MailTemplate.Kind, baseURL: String?, _ environment: [String: String]) throws -> InvitationSender {
        guard let baseURL else { throw ValidationError("sending needs --base-url URL (or PORTAL_LINKS_BASE_URL): the portal address the link opens") }
        let mailer = try mailer(environment)
        return try InvitationSender(mailer: mailer, mail: InvitationMail(template: try template(kind, environment), from: mailer.from,
                                                                        contact: contact(environment)), baseURL: baseURL)
    }
}

extension Delivery {
    /// As the ledger keeps it.
    func record(_ link: LinkID, at now: Int64) -> DeliveryRecord {
        DeliveryRecord(linkID: link, address: address, state: state.rawValue, detail: detail, at: now)
    }
}
