import Foundation
import PortalLinks

/// Where and how mail goes: `smtp://HOST[:587]` (STARTTLS required) or `smtps://HOST[:465]` (TLS from the first
/// byte), the account, the sender. The password never appears in a description, a log line or an error.
public struct SMTPConfiguration: Sendable {
    public var url: String
    public var username: String?
    public var password: String?
    /// Certificates to trust instead of the system's (a company relay with its own CA, tests).
    public var caFile: String?
    public var from: String
    public var connectTimeout: Duration = .seconds(10)
    public var messageTimeout: Duration = .seconds(60)

    /// Checks `url` and `from`; userinfo in the URL is refused, so that a password never sits in a URL that
    /// shell history, process lists and logs keep.
    public init(url: String, username: String?, password: String?, caFile: String?, from: String) throws {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme),
              let host = parsed.host, !host.isEmpty, parsed.path.isEmpty || parsed.path == "/", parsed.query == nil
        else { throw MailError("the SMTP server is a URL such as smtp://mail.example.com:587 (STARTTLS) or smtps://mail.example.com:465") }
        guard parsed.user == nil, parsed.password == nil else {
            throw MailError("the SMTP URL must not hold an account: give the user with --smtp-user and the password in "
                            + "PORTAL_LINKS_SMTP_PASSWORD or a file (--smtp-password-file)")
        }
        guard MailAddress.isSendable(from) else { throw MailError("the sender '\(TerminalText.field(from))' is not an address mail can be sent from") }
        let port = parsed.port ?? (scheme == "smtps" ? 465 : 587)
        self.url = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        self.username = username
        self.password = password
        self.caFile = caFile
        self.from = from
    }

    /// For messages: the server and the account, never the password.
    public var description: String { url + (username.map { " as \($0)" } ?? "") }
}

/// Addresses that can go into an SMTP envelope and a header as they are: ASCII, one `@`, no spaces, brackets,
/// quotes, commas or controls (a `>` or a CRLF in an address would write SMTP commands or headers of its own).
public enum MailAddress {
    public static func isSendable(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), address.utf8.count <= 254 else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~@".utf8)
        return address.utf8.allSatisfy { allowed.contains($0) } && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }
}
