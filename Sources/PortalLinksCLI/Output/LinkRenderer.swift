import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore

enum LinkFormat: String, ExpressibleByArgument, CaseIterable {
    case url, token, html, iframe, email, json
}

/// Turns an issued link into what staff paste: a URL, HTML, an invitation email or JSON.
struct LinkRenderer {
    let baseURL: String?
    let format: LinkFormat

    init(baseURL: String?, format: LinkFormat) throws {
        if baseURL == nil, [.url, .html, .iframe, .email].contains(format) {
            throw ValidationError("--format \(format.rawValue) needs --base-url URL (or PORTAL_LINKS_BASE_URL)")
        }
        self.baseURL = baseURL
        self.format = format
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

    private func email(_ link: IssuedLink, url: String, portal: String) -> String {
        let greeting = link.claims.displayName.map { "Hello \($0) team," } ?? "Hello,"
        return """
            Subject: Your invitation to \(portal)

            \(greeting)

            You are invited to \(portal). There you can share documents with us securely, follow the progress \
            of your requests and keep your company's contacts up to date.

            Open this link to create your account:

            \(url)

            The link works until \(TimeText.formatDay(link.claims.expiresAt)) (\(TimeText.format(link.claims.expiresAt))). \
            Once your account exists, sign in as usual; the link is only needed once. If it has expired, reply to \
            this message and we will send a new one.
            """
    }
}
