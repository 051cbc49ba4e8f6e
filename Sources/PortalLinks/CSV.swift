/// RFC 4180 CSV: fields separated by commas, optionally quoted with "", quotes doubled inside quotes. Read
/// by Unicode scalar, so a combining mark after a comma or a quote cannot hide it the way it would join it
/// into one Character.
public enum CSV {
    public struct Row: Sendable, Equatable {
        /// 1-based line number where the row starts, for error messages.
        public let line: Int
        public let fields: [String]

        public init(line: Int, fields: [String]) {
            self.line = line
            self.fields = fields
        }
    }

    public struct ParseError: Error, Sendable {
        public let line: Int
        public let message: String
    }

    /// Parses `text` into rows, skipping blank lines. Rows end at LF, CRLF or CR. A quote left open is an
    /// error at the row where it opened.
    public static func parse(_ text: String) throws(ParseError) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var fieldWasQuoted = false
        var line = 1
        var rowLine = 1
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
        }
        func endRow() {
            let blank = fields.isEmpty && field.isEmpty && !fieldWasQuoted
            endField()
            if !blank { rows.append(Row(line: rowLine, fields: fields)) }
            fields = []
        }

        while let scalar = pending ?? scalars.next() {
            pending = nil
            if inQuotes {
                if scalar == "\"" {
                    let next = scalars.next()
                    if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                } else {
                    // CRLF inside a quoted field is one line break; the field keeps it as it is.
                    if scalar == "\r" {
                        pending = scalars.next()
                        if pending != "\n" { line += 1 }
                    } else if scalar == "\n" {
                        line += 1
                    }
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty && !fieldWasQuoted:
                inQuotes = true
                fieldWasQuoted = true
            case ",":
                endField()
            case "\n", "\r":
                if scalar == "\r" {
                    let next = scalars.next()
                    if next != "\n" { pending = next }
                }
                endRow()
                line += 1
                rowLine = line
            default:
                field.append(scalar)
            }
        }
        if inQuotes { throw ParseError(line: rowLine, message: "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRow() }
        return rows
    }

    /// Quotes a field when it holds a comma, a quote or a line break, or starts or ends with a space (which
    /// readers trim). A field a spreadsheet would run as a formula (OWASP's CSV injection guidance: one whose
    /// first character, after any white space, is `=`, `+`, `-`, `@`, a tab or a carriage return, or the
    /// fullwidth `＝`, `＋`, `－`, `＠` that some spreadsheets read alike) is written with an apostrophe in front,
    /// quoted: spreadsheets show it as the text it is, and hide the apostrophe.
    public static func escape(_ field: String) -> String {
        let scalars = field.unicodeScalars
        let runsAsFormula = runsAsFormula(field)
        guard runsAsFormula || scalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                || scalars.first == " " || scalars.last == " " else {
            return field
        }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        if runsAsFormula { quoted.append("'") }
        for scalar in scalars {
            quoted.append(scalar)
            if scalar == "\"" { quoted.append("\"") }
        }
        quoted.append("\"")
        return String(quoted)
    }

    /// Whether a spreadsheet would take `field` for a formula; `escape` writes such a field with an apostrophe
    /// in front.
    public static func runsAsFormula(_ field: String) -> Bool {
        let scalars = field.unicodeScalars
        return scalars.first.map { $0 == "\t" || $0 == "\r" } == true
            || scalars.first(where: { !$0.properties.isWhitespace }).map(startsFormula) == true
    }

    private static func startsFormula(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "=", "+", "-", "@", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}": true
        default: false
        }
    }

    public static func line(_ fields: [String]) -> String { fields.map(escape).joined(separator: ",") }
}
