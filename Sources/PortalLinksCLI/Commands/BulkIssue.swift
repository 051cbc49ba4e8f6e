import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore

/// `issue --csv FILE`: one link per row; bad rows are reported by row number and the rest are still issued.
struct BulkIssue {
    static let outputColumns = ["row", "client_id", "name", "link_id", "expires_at", "link", "sent_to"]
    /// Rows issued per store transaction; also how often the progress bar moves.
    static let batchSize = 500

    let csvPath: String
    let outputPath: String?
    let renderer: LinkRenderer

    func run(_ installation: Installation) async throws {
        guard let data = FileManager.default.contents(atPath: csvPath) else {
            throw PortalLinksError(.invalidInput, "cannot read \(csvPath)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PortalLinksError(.invalidInput, "\(csvPath) is not UTF-8 text")
        }
        let rows: [LinkImport.Row]
        do { rows = try LinkImport.rows(in: text, now: installation.clock()) } catch {
            throw PortalLinksError(.invalidInput, "\(csvPath) row \(error.line): \(error.message)")
        }
        guard !rows.isEmpty else { throw PortalLinksError(.invalidInput, "\(csvPath) has no rows") }

        let out: FileHandle
        if let outputPath {
            // The file holds working links: readable by its owner only.
            let descriptor = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard descriptor >= 0, fchmod(descriptor, 0o600) == 0 else {
                if descriptor >= 0 { close(descriptor) }
                throw PortalLinksError(.invalidInput, "cannot write \(outputPath)")
            }
            out = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        } else {
            out = FileHandle.standardOutput
        }
        out.write(Data((CSV.line(Self.outputColumns) + "\n").utf8))

        let progress = ProgressBar(total: rows.count)
        var failures = 0
        var issued = 0
        for start in stride(from: 0, to: rows.count, by: Self.batchSize) {
            let batch = rows[start..<min(start + Self.batchSize, rows.count)]
            var requests: [(line: Int, request: IssueRequest)] = []
            for row in batch {
                switch row.request {
                case .success(let request): requests.append((row.line, request))
                case .failure(let error):
                    failures += 1
                    progress.report("row \(row.line): \(error.message)")
                }
            }
            let results = try await installation.issue(requests.map(\.1))
            var lines = ""
            for ((line, _), result) in zip(requests, results) {
                switch result {
                case .success(let link):
                    issued += 1
                    lines += CSV.line([String(line), link.claims.clientID.description, link.claims.displayName ?? "",
                                       link.linkID.description, TimeText.format(link.claims.expiresAt),
                                       renderer.url(for: link.token) ?? link.token, link.sentTo.joined(separator: ";")]) + "\n"
                case .failure(let error):
                    failures += 1
                    progress.report("row \(line): \(error.message)")
                }
            }
            out.write(Data(lines.utf8))
            progress.advance(to: min(start + Self.batchSize, rows.count))
        }
        progress.finish()
        if outputPath != nil { try out.close() }
        if failures > 0 {
            FileHandle.standardError.write(Data("portal-links: issued \(issued) links; \(failures) \(failures == 1 ? "row" : "rows") refused\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// A progress bar on stderr when it is a terminal; silent otherwise. Row errors print above it.
final class ProgressBar {
    private let total: Int
    private let enabled = isatty(STDERR_FILENO) == 1
    private var done = 0

    init(total: Int) { self.total = total }

    func advance(to done: Int) {
        self.done = done
        draw()
    }

    func report(_ message: String) {
        let clear = enabled ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data("\(clear)portal-links: \(message)\n".utf8))
        draw()
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw() {
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }
}
