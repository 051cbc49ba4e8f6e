import Foundation
import PortalLinksCore

/// The CSV that `issue --csv` reads: one link per row, columns client_id,name,expires,sent_to (several
/// addresses in sent_to separated by ';'), a header row optional. A row that cannot be issued carries its
/// error, so that the good rows are still issued.
public enum LinkImport {
    public static let columns = ["client_id", "name", "expires", "sent_to"]

    public struct Row: Sendable {
        /// 1-based line where the row starts.
        public let line: Int
        public let request: Result<IssueRequest, PortalLinksError>
    }

    /// The rows of a whole file, header skipped; empty when there are none. Throws for text that is not CSV
    /// (a quote never closed), naming the row.
    public static func rows(in text: String, now: Int64) throws(CSV.ParseError) -> [Row] {
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // the byte-order mark spreadsheets write
        var rows = try CSV.parse(text)
        if let first = rows.first, first.fields.first?.trimmingCharacters(in: .whitespaces).lowercased() == "client_id" {
            rows.removeFirst()
        }
        return rows.map { row in
            Row(line: row.line, request: Result { () throws(PortalLinksError) in try request(from: row.fields, now: now) })
        }
    }

    static func request(from row: [String], now: Int64) throws(PortalLinksError) -> IssueRequest {
        let fields = row.map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count <= columns.count else {
            throw PortalLinksError(.invalidInput, "\(fields.count) columns; expected at most \(columns.count): \(columns.joined(separator: ","))")
        }
        func field(_ index: Int) -> String? { index < fields.count && !fields[index].isEmpty ? fields[index] : nil }
        guard let clientText = field(0) else { throw PortalLinksError(.invalidInput, "client_id is empty") }
        let clientID = try ClientID(parsing: clientText)
        var expiresAt: Int64?
        if let expires = field(2) {
            guard let parsed = TimeText.parseExpiry(expires, now: now) else {
                throw PortalLinksError(.invalidInput, "expires '\(expires)' is neither a lifetime such as 90d nor a time")
            }
            expiresAt = parsed
        }
        let sentTo = field(3).map { $0.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
        return IssueRequest(clientID: clientID, displayName: field(1), expiresAt: expiresAt, sentTo: sentTo)
    }
}
