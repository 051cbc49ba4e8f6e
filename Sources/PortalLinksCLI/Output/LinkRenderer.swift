import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksMail

enum LinkFormat: String, ExpressibleByArgument, CaseIterable {
    case url, token, html, iframe, email, json
}

/// Turns an issued link into what staff paste: a URL, HTML, an invitation email or JSON.
struct LinkRenderer {
    let baseURL: String?
    let format: LinkFormat
    /// The invitation email's template, for `email`: the message `--send` would send, as text.
    var invitation: InvitationMail?

    init(baseURL: String?, format: LinkFormat, invitation: InvitationMail? = nil) throws {
        if baseURL == nil, [.url, .html, .iframe, .email].contains(format) {
            throw ValidationError("--format \(format.rawValue) needs --base-url URL (or PORTAL_LINKS_BASE_URL)")
        }
        self.baseURL = baseURL
        self.format = format
        self.invitation = invitation
    }

    static func checkedBaseURL(_ text: String) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme),
              url.host != nil, !text.contains("#")
        else { throw ValidationError("--base-url must be an http(s) URL without a fragment, such as https://portal.example.com/join") }
        return text
    }

    func url(for token: String) -> String? {
        baseURL.map { $0 + ($0.contains("?") ? "&" : "?") + "token=" + token }
    }

    func render(_ link: IssuedLink) -> String {
        let url = url(for: link.token) ?? link.token
        let portal = link.claims.displayName.map { "the \($0) portal" } ?? "your client portal"
        switch format {
        case .token:
            return link.token
        case .url:
            return url
        case .html:
            return HTMLText.anchor(url: url, portal: portal)
        case .iframe:
            return HTMLText.iframe(url: url, title: portal.prefix(1).uppercased() + portal.dropFirst())
        case .email:
            return email(link, url: url, portal: portal)
        case .json:
            return JSONText.object(issuedFields(link, url: baseURL == nil ? nil : url))
        }
    }

    func issuedFields(_ link: IssuedLink, url: String?) -> [(String, Any?)] {
        [("token", link.token), ("url", url), ("link_id", link.linkID.description),
         ("client_id", link.claims.clientID.description), ("display_name", link.claims.displayName),
         ("issued_at", link.claims.issuedAt), ("expires_at", link.claims.expiresAt),
         ("key_id", link.claims.keyID.description), ("sent_to", link.sentTo)]
    }

    /// The subject and the text part of the invitation `--send` sends, from the same template.
    private func email(_ link: IssuedLink, url: String, portal: String) -> String {
        let mail = invitation ?? InvitationMail(template: try! MailTemplate.load(.invitation, directory: nil), from: "",
                                                contact: InvitationMail.unnamedContact)
        let message = mail.message(url: url, clientID: link.claims.clientID, displayName: link.claims.displayName,
                                   expiresAt: link.claims.expiresAt, to: link.sentTo, at: link.claims.issuedAt)
        return "Subject: \(message.subject)\n\n" + message.text.trimmingCharacters(in: .newlines)
    }
}
