import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksService

/// One setting of `serve`: its key in a configuration file, its command-line flag, its environment variable, what
/// it takes, its default, and whether a reload (SIGHUP, or a changed file) applies it. docs/configuration.md.
struct ServeSetting: Sendable {
    enum Kind: Sendable, Equatable {
        /// Any text but an empty one; checked where it is used (an email address, a folder to create).
        case text
        /// smtp://HOST[:PORT] or smtps://HOST[:PORT], without an account in it.
        case smtpURL
        case number(ClosedRange<Int>)
        /// A duration longer than zero and at most `atMost` seconds: 10s, 5m, 15m, 1h.
        case duration(atMost: Int64)
        /// HOST:PORT; with `orNone`, also "none".
        case address(orNone: Bool)
        case choice([String])
        /// Where forward auth redirects: an http(s) URL or a path starting with /.
        case page
        case cookieName
        /// A portal address that links are appended to.
        case baseURL
        /// A page with {token} where the reset token goes.
        case resetURL
        /// postgres://… or sqlite:PATH; may hold a password, so it is shown redacted.
        case storeURL
        /// A file this process must be able to read.
        case file
        /// A file holding a secret: readable, and by its owner only.
        case secretFile
        case directory
    }

    /// Dotted, as in a configuration file: `limits.max_connections`.
    let key: String
    /// The long flag without its dashes; nil for settings only a file or the environment give.
    let flag: String?
    let kind: Kind
    /// As text, as a file or the environment would give it; nil: unset unless given.
    let defaultValue: String?
    /// Its environment variable, when the rule below does not give it (older names kept).
    private let variable: String?
    /// What leaving it unset means, when there is no default value: "one per core", "off".
    let unsetMeaning: String
    /// Applied by a reload to new connections; the others need a restart.
    let reloads: Bool

    init(_ key: String, flag: String?, environment variable: String? = nil, _ kind: Kind, default defaultValue: String? = nil,
         unset unsetMeaning: String = "unset", reloads: Bool = false) {
        self.key = key
        self.variable = variable
        self.flag = flag
        self.kind = kind
        self.defaultValue = defaultValue
        self.unsetMeaning = unsetMeaning
        self.reloads = reloads
    }

    /// PORTAL_LINKS_ and the flag in capitals (or the key, for settings without a flag): --max-connections is
    /// PORTAL_LINKS_MAX_CONNECTIONS, store.password_file is PORTAL_LINKS_STORE_PASSWORD_FILE.
    var environmentVariable: String {
        if let variable { return variable }
        let name = flag ?? key.replacingOccurrences(of: ".", with: "_")
        return "PORTAL_LINKS_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Values never shown or logged: a store URL may hold its password.
    var isSecret: Bool { kind == .storeURL }

    /// "none" turns off a setting that is off unless given (--metrics none), so that a flag or the environment
    /// can undo what the file sets.
    var canBeNone: Bool { defaultValue == nil }

    var isNumber: Bool { if case .number = kind { true } else { false } }

    /// Why `value` is not acceptable, as the end of a sentence that starts with where it came from; nil when it is.
    func problem(with value: String) -> String? {
        switch kind {
        case .text:
            return value.isEmpty ? "is empty" : nil
        case .number(let range):
            guard let number = Int(value), range.contains(number) else { return "takes \(range.lowerBound) to \(range.upperBound)" }
            return nil
        case .duration(let atMost):
            guard let seconds = TimeText.parseDuration(value), seconds > 0, seconds <= atMost else {
                return "takes a duration longer than zero and at most \(atMost / 86_400)d, such as 10s, 5m or 1h"
            }
            return nil
        case .smtpURL:
            guard let url = URLComponents(string: value), ["smtp", "smtps"].contains(url.scheme?.lowercased() ?? ""),
                  url.host?.isEmpty == false else { return "takes smtp://HOST[:587] or smtps://HOST[:465]" }
            return url.user == nil && url.password == nil ? nil : "holds an account: give it as mail.smtp_user, its password in mail.smtp_password_file"
        case .address(let orNone):
            if orNone, value == "none" { return nil }
            return Self.hostAndPort(value) == nil
                ? "takes HOST:PORT, such as 127.0.0.1:7420 or [::1]:7420" + (orNone ? ", or none" : "") : nil
        case .choice(let choices):
            return choices.contains(value) ? nil : "takes " + choices.dropLast().joined(separator: ", ") + " or " + choices.last!
        case .page:
            let good = (value.hasPrefix("https://") || value.hasPrefix("http://") || value.hasPrefix("/")) && !value.contains(where: \.isNewline)
            return good ? nil : "takes an http(s) URL or a path starting with /"
        case .cookieName:
            let good = !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
            return good ? nil : "takes letters, digits, '-', '_' and '.'"
        case .baseURL:
            return (try? LinkRenderer.checkedBaseURL(value)) == nil ? "takes an http(s) URL without a fragment, such as https://portal.example.com/join" : nil
        case .resetURL:
            return AccountMailer.Configuration.checkResetURL(value)
                ? nil : "takes an http(s) URL with {token} where the reset token goes, such as https://portal.example.com/reset?token={token}"
        case .storeURL:
            // The parser's message never quotes a password back.
            do { _ = try StoreLocation(parsing: value); return nil } catch let error as PortalLinksError { return error.message } catch { return "\(error)" }
        case .file:
            return FileManager.default.isReadableFile(atPath: value) ? nil : "names a file that cannot be read: \(TerminalText.field(value))"
        case .secretFile:
            return SecretFile.problem(value)
        case .directory:
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory) && isDirectory.boolValue
                ? nil : "names a folder that does not exist: \(TerminalText.field(value))"
        }
    }

    /// "127.0.0.1:7420" or "[::1]:7420" as a host and a port; nil when it is neither.
    static func hostAndPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
