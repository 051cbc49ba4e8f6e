import Foundation
import PortalLinks
import PortalLinksCore

/// One email as it goes out, to the SMTP server or into the outbox: RFC 5322 headers and a MIME
/// multipart/alternative body with a text and an HTML part, both quoted-printable UTF-8. Built here, with no
/// I/O, so that the outbox holds exactly the bytes SMTP would carry.
public struct MailMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String
    /// Seconds since 1970.
    public var date: Int64
    /// Without its angle brackets: random@the sender's domain.
    public var messageID: String

    public init(from: String, to: [String], subject: String, text: String, html: String, date: Int64, messageID: String? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.date = date
        self.messageID = messageID ?? Self.newMessageID(from: from)
    }

    static func newMessageID(from: String) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "portal-links.invalid"
        return Hex.encode(SecureRandom.bytes(16)) + "@" + domain
    }

    /// The message with CRLF line ends, ready for SMTP's DATA (which dot-stuffs; libcurl does).
    public var rendered: [UInt8] {
        let boundary = "=_portal-links_" + Hex.encode(SecureRandom.bytes(12))
        var lines = [
            "From: " + from,
            "To: " + to.joined(separator: ", "),
            "Subject: " + MailHeader.encoded(subject),
            "Date: " + MailHeader.date(date),
            "Message-ID: <" + messageID + ">",
            // RFC 3834: not from a person, so auto-responders do not answer it.
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a MIME message: a text part and an HTML part.",
        ]
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            lines += ["", "--" + boundary, "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
                      QuotedPrintable.encode(body)]
        }
        lines += ["", "--" + boundary + "--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }
}

/// Header values: one line each, whatever they were given (a display name with CR LF must not add headers).
public enum MailHeader {
    /// As is when printable ASCII, else RFC 2047 encoded words (UTF-8, base64), each at most 75 characters and
    /// never splitting a character, folded onto continuation lines. Controls become spaces first.
    public static func encoded(_ value: String) -> String {
        let clean = oneLine(value)
        if clean.utf8.allSatisfy({ (0x20...0x7e).contains($0) }), clean.utf8.count <= 900, !clean.contains("=?") { return folded(clean) }
        var words: [String] = [], chunk: [UInt8] = []
        // "=?UTF-8?B?" + base64 + "?=" within 75 characters: at most 45 bytes of text (60 of base64).
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45, !chunk.isEmpty {
                words.append(word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(word(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    /// `value` with every control (CR, LF, NEL, ...) a space: one line whatever it held.
    public static func oneLine(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// Printable ASCII folded before spaces into lines of about 70 characters (RFC 5322 asks for at most 78).
    static func folded(_ value: String) -> String {
        var lines: [String] = [], line = ""
        for (index, word) in value.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if index > 0, line.count + 1 + word.count > 70, !line.isEmpty {
                lines.append(line)
                line = String(word)
            } else {
                line += (index > 0 ? " " : "") + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\r\n ")
    }

    private static func word(_ bytes: [UInt8]) -> String { "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?=" }

    /// RFC 5322's date: `Sun, 06 Dec 2026 02:30:00 +0000`.
    public static func date(_ seconds: Int64) -> String {
        var text = TimeText.formatHTTP(seconds)
        if text.hasSuffix(" GMT") { text = String(text.dropLast(4)) + " +0000" }
        return text
    }
}

/// RFC 2045 quoted-printable, lines at most 76 characters, CRLF line ends; for UTF-8 text.
enum QuotedPrintable {
    static func encode(_ text: String) -> String {
        var output: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var encoded = "", width = 0
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
                let piece = literal ? String(UnicodeScalar(byte)) : "=" + hex(byte)
                if width + piece.count > 75 {  // a soft break: "=" ends the line
                    encoded += "=\r\n"
                    width = 0
                }
                encoded += piece
                width += piece.count
            }
            output.append(encoded)
        }
        return output.joined(separator: "\r\n")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
