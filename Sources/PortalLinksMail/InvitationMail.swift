import PortalLinks
import PortalLinksCore

/// The invitation (or renewal) of one issued link as an email to its recipients.
public struct InvitationMail: Sendable {
    public var template: MailTemplate
    public var from: String
    /// Whom recipients write to about the link: a person at the company, or the sender.
    public var contact: String

    public init(template: MailTemplate, from: String, contact: String?) {
        self.template = template
        self.from = from
        self.contact = contact ?? (from.isEmpty ? Self.unnamedContact : from)
    }

    /// Whom to write to when no contact and no sender are known (an email staff send themselves).
    public static let unnamedContact = "the person who sent you this link"

    public func message(url: String, clientID: ClientID, displayName: String?, expiresAt: Int64, to recipients: [String], at now: Int64) -> MailMessage {
        let expires = "\(TimeText.formatDay(expiresAt)) (\(TimeText.format(expiresAt)))"
        let filled = template.render(["company": displayName ?? clientID.description, "link": url, "expires": expires, "contact": contact])
        return MailMessage(from: from, to: recipients, subject: filled.subject, text: filled.text, html: filled.html, date: now)
    }
}
