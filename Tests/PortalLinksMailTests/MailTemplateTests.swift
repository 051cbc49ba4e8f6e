import Foundation
import Testing
@testable import PortalLinksMail

/// Templates: each value escaped for where it lands, and a template that names something unknown refused when
/// read, not sent with a hole in it.
@Suite struct MailTemplateTests {
    @Test func valuesAreEscapedForWhereTheyLand() throws {
        let template = try MailTemplate.load(.invitation, directory: nil)
        let hostile = "<script>alert(1)</script> & \"Acme\" 'Ltd'\u{0301}\r\nBcc: x@evil.example {{link}}"
        let filled = template.render(["company": hostile, "link": "https://portal.example/join?token=A&b=\"", "expires": "soon",
                                      "contact": "help@portal.example"])
        #expect(!filled.html.contains("<script>") && filled.html.contains("&lt;script&gt;") && filled.html.contains("&quot;Acme&quot;"))
        #expect(filled.html.contains("href=\"https://portal.example/join?token=A&amp;b=&quot;\""))
        #expect(!filled.subject.contains("\r") && !filled.subject.contains("\n"), "the subject is one line")
        #expect(filled.text.contains("{{link}}") && filled.html.contains("{{link}}"), "a value is inserted once, never expanded again")
        #expect(filled.text.contains("https://portal.example/join?token=A&b=\""), "the text part is text: the link as it is")
    }

    @Test func everyBuiltInTemplateUsesKnownPlaceholders() throws {
        for kind in MailTemplate.Kind.allCases {
            let template = try MailTemplate.load(kind, directory: nil)
            #expect(template.subject.contains("{{company}}") && template.text.contains("{{link}}") && template.html.contains("{{link}}"))
        }
    }

    @Test func aDirectoryReplacesPiecesAndUnknownPlaceholdersAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "Welcome aboard, {{ company }}\n".write(toFile: directory + "/invitation.subject", atomically: true, encoding: .utf8)
        let template = try MailTemplate.load(.invitation, directory: directory)
        #expect(template.render(["company": "Acme"]).subject == "Welcome aboard, Acme")
        #expect(template.text == (try MailTemplate.load(.invitation, directory: nil)).text, "pieces without a file stay built in")
        try "<p>{{link}} {{password}}</p>".write(toFile: directory + "/invitation.html", atomically: true, encoding: .utf8)
        #expect(throws: MailError.self) { try MailTemplate.load(.invitation, directory: directory) }
    }
}
