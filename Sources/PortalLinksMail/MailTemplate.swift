import Foundation
import PortalLinks

/// The emails PortalLinks sends: a subject, a text body and an HTML body with `{{placeholders}}`. Built in,
/// and each piece replaceable by a file in a template directory: `invitation.subject`, `invitation.txt`,
/// `invitation.html` (and the same for renewal, welcome, reset). Values are escaped for where they land: HTML
/// per Unicode scalar, the subject kept to one line.
public struct MailTemplate: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case invitation, renewal, welcome, reset
    }

    /// What a template may use. Unknown placeholders are refused when the template is read.
    public static let placeholders = ["company", "link", "expires", "contact"]

    public var subject: String
    public var text: String
    public var html: String

    /// The built-in template of `kind`, with each piece a file in `directory` overrides.
    public static func load(_ kind: Kind, directory: String?) throws -> MailTemplate {
        var template = builtIn(kind)
        if let directory {
            for (suffix, keyPath) in [("subject", \MailTemplate.subject), ("txt", \MailTemplate.text), ("html", \MailTemplate.html)] {
                let path = directory + "/" + kind.rawValue + "." + suffix
                guard FileManager.default.fileExists(atPath: path) else { continue }
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    throw MailError("template \(TerminalText.field(path)) cannot be read as UTF-8")
                }
                template[keyPath: keyPath] = suffix == "subject" ? text.trimmingCharacters(in: .whitespacesAndNewlines) : text
            }
        }
        try template.checkPlaceholders(kind)
        return template
    }

    func checkPlaceholders(_ kind: Kind) throws {
        for (piece, text) in [("subject", subject), ("txt", text), ("html", html)] {
            for name in Self.names(in: text) where !Self.placeholders.contains(name) {
                throw MailError("template \(kind.rawValue).\(piece) uses {{\(TerminalText.field(name))}}; the placeholders are "
                                + Self.placeholders.map { "{{\($0)}}" }.joined(separator: ", "))
            }
        }
    }

    /// The message's subject, text and HTML with `values` in place.
    public func render(_ values: [String: String]) -> (subject: String, text: String, html: String) {
        (Self.fill(subject) { values[$0].map(MailHeader.oneLine) ?? "" },
         Self.fill(text) { values[$0] ?? "" },
         Self.fill(html) { values[$0].map { HTMLText.escape($0) } ?? "" })
    }

    static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            names.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }

    static func fill(_ text: String, _ value: (String) -> String) -> String {
        var output = "", rest = text[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            output += rest[..<open.lowerBound]
            output += value(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}
