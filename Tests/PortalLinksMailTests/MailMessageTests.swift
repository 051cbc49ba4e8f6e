import Foundation
import Testing
@testable import PortalLinksMail

/// What a message looks like on the wire: one line per header whatever the values hold, subjects that decode
/// back to what was given, bodies that decode back to their text.
@Suite struct MailMessageTests {
    /// Every C0 and C1 control, DEL, the Unicode line and paragraph separators, and text that looks like an
    /// encoded word, in a subject: the header stays one logical line, so no value can add a header.
    @Test func aSubjectNeverAddsAHeader() throws {
        var scalars = (0x00...0x1F).map { Unicode.Scalar($0)! } + (0x7F...0x9F).map { Unicode.Scalar($0)! }
        scalars += ["\u{2028}", "\u{2029}", "\u{FEFF}", "\u{202E}"]
        for scalar in scalars {
            let subject = "Acme" + String(scalar) + "Bcc: someone@evil.example"
            let header = MailHeader.encoded(subject)
            let unfolded = header.replacingOccurrences(of: "\r\n ", with: " ")
            #expect(!unfolded.contains("\r") && !unfolded.contains("\n"), "U+\(String(scalar.value, radix: 16)): \(header)")
            let expected = String(String.UnicodeScalarView(subject.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
            #expect(try Self.decoded(header) == expected, "U+\(String(scalar.value, radix: 16))")
        }
        // Text a mail client would decode as an encoded word is encoded itself.
        #expect(MailHeader.encoded("=?UTF-8?B?PHNjcmlwdD4=?=") != "=?UTF-8?B?PHNjcmlwdD4=?=")
        #expect(try Self.decoded(MailHeader.encoded("=?UTF-8?B?PHNjcmlwdD4=?=")) == "=?UTF-8?B?PHNjcmlwdD4=?=")
        #expect(MailHeader.encoded("Your invitation to the Acme portal") == "Your invitation to the Acme portal")
    }

    /// Long subjects in scripts of one to four bytes a character: words of at most 75 characters, each valid
    /// UTF-8 on its own (no character split across two), which together give the subject back.
    @Test func longSubjectsSplitBetweenCharacters() throws {
        for piece in ["é", "日本", "👩‍👩‍👧", "ü̈", "a é"] {
            let subject = String(repeating: piece + " ", count: 60)
            let header = MailHeader.encoded(subject)
            for word in header.components(separatedBy: "\r\n ") {
                #expect(word.count <= 75 && word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="), "\(word)")
                let bytes = try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
                #expect(String(data: bytes, encoding: .utf8) != nil, "a word of \(piece) is not UTF-8 on its own")
            }
            #expect(try Self.decoded(header) == subject)
        }
    }

    /// A long ASCII subject is folded before spaces, and unfolding gives it back.
    @Test func longASCIISubjectsAreFolded() {
        let subject = String(repeating: "invitation ", count: 30) + String(repeating: "x", count: 90)
        let header = MailHeader.encoded(subject)
        #expect(header.components(separatedBy: "\r\n ").dropLast().allSatisfy { $0.count <= 70 })
        #expect(header.replacingOccurrences(of: "\r\n ", with: " ") == subject)
    }

    /// Quoted-printable bodies: lines of at most 76 characters, and decoding gives back the text (with CRLF
    /// line ends), for text with '=', trailing spaces and tabs, long lines and every UTF-8 length.
    @Test func bodiesDecodeBackToTheirText() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab =\t.\né日👩\r") + ["\u{2028}", "0"]
        for length in [0, 1, 75, 76, 77, 300] {
            for _ in 0..<40 {
                let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
                let encoded = QuotedPrintable.encode(text)
                for line in encoded.components(separatedBy: "\r\n") {
                    #expect(line.utf8.count <= 76, "\(line)")
                    #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "trailing whitespace is encoded: \(line)")
                }
                let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                    .replacingOccurrences(of: "\n", with: "\r\n")
                #expect(Self.decodedQuotedPrintable(encoded) == normalized, "\(text.debugDescription)")
            }
        }
    }

    @Test func aMessageHasItsHeadersAndBothParts() {
        let message = MailMessage(from: "invitations@portal.example", to: ["a@client.example", "b@client.example"],
                                  subject: "Hello", text: "the text", html: "<p>the html</p>", date: 1_800_000_000)
        let text = String(decoding: message.rendered, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.contains("To: a@client.example, b@client.example\r\n") && head.contains("Auto-Submitted: auto-generated"))
        #expect(head.contains("Date: Fri, 15 Jan 2027 08:00:00 +0000"))
        #expect(head.contains("Message-ID: <") && message.messageID.hasSuffix("@portal.example"))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8") && text.contains("Content-Type: text/html; charset=utf-8"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF line ends only")
        #expect(MailMessage(from: "x@portal.example", to: [], subject: "", text: "", html: "", date: 0).messageID != message.messageID)
    }

    @Test func onlyPlainAddressesCanBeSentTo() {
        for good in ["ana@client.example", "first.last+tag@sub.client.example", "o'brien@client.example"] {
            #expect(MailAddress.isSendable(good), "\(good)")
        }
        for bad in ["ana@client.example>", "<ana@client.example", "ana@client.example\r\nRCPT TO:<x@y.z>", "ana @client.example",
                    "ana@client.example,bo@client.example", "\"ana\"@client.example", "anä@client.example", "ana@", "@client.example",
                    "ana@client", "ana@.example", "ana@client.example.", "ana@@client.example", ""] {
            #expect(!MailAddress.isSendable(bad), "\(bad.debugDescription)")
        }
    }

    /// RFC 2047 words joined by folding whitespace, decoded.
    static func decoded(_ header: String) throws -> String {
        guard header.hasPrefix("=?") else { return header }
        var bytes: [UInt8] = []
        for word in header.components(separatedBy: "\r\n ") {
            bytes += try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodedQuotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = [], input = Array(text.utf8), index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "=") {
                if index + 2 < input.count, input[index + 1] == 13, input[index + 2] == 10 { index += 3; continue }
                bytes.append(UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)!)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
