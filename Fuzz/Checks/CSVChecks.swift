import PortalLinks
import PortalLinksCore

/// The `issue --csv` reader on arbitrary files. Rows come out in order with their line numbers; every field
/// written back with the CSV writer reads again as the same field, or for one a spreadsheet would run, as it
/// with an apostrophe in front (the output file of a bulk issue must read as what was issued); a row is either
/// a request or one error, never a crash.
public enum CSVChecks {
    /// Expiries in the rows are read relative to this time.
    static let now: Int64 = 1_800_000_000

    public static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: input, as: UTF8.self)
        let rows: [LinkImport.Row]
        do { rows = try LinkImport.rows(in: text, now: now) } catch {
            try expect(error.line >= 1, "a parse error at line \(error.line)")
            return
        }
        var lastLine = 0
        for row in rows {
            try expect(row.line > lastLine, "row at line \(row.line) after one at line \(lastLine)")
            lastLine = row.line
        }
        let parsed = (try? CSV.parse(text)) ?? []
        // Blank rows are skipped on reading, so rows of one empty field do not survive a round trip by design.
        let kept = parsed.filter { $0.fields != [""] }
        let written = kept.map { CSV.line($0.fields) }.joined(separator: "\n")
        let reread: [CSV.Row]
        do { reread = try CSV.parse(written) } catch {
            throw FuzzFinding("rows written by the CSV writer do not read back: \(error.message)")
        }
        // A field a spreadsheet would run as a formula reads back with the apostrophe that neutralises it.
        let expected = kept.map { $0.fields.map { CSV.runsAsFormula($0) ? "'" + $0 : $0 } }
        try expect(reread.map(\.fields) == expected, "fields written by the CSV writer read back differently")
    }
}
