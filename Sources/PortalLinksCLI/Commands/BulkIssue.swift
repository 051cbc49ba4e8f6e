import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksMail

/// `issue --csv FILE`: one link per row; bad rows are reported by row number and the rest are still issued.
struct BulkIssue {
    static let outputColumns = ["row", "client_id", "name", "link_id", "expires_at", "link", "sent_to"]
    /// Rows issued per store transaction; also how often the progress bar moves.
    static let batchSize = 500

    let csvPath: String
    let outputPath: String?
    let renderer: LinkRenderer
    /// With --send: where the invitations go and what they say.
    var sender: InvitationSender?
    /// Emails a second at most.
    var rate: Double?

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
        var toSend: [(line: Int, link: IssuedLink)] = []
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
                    if !link.sentTo.isEmpty { toSend.append((line, link)) }
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
        let notSent = try await send(toSend, installation)
        if failures > 0 {
            FileHandle.standardError.write(Data("portal-links: issued \(issued) links; \(failures) \(failures == 1 ? "row" : "rows") refused\n".utf8))
        }
        if failures > 0 || notSent > 0 { throw ExitCode(1) }
    }

    /// With --send: every issued link that has addresses, emailed at `rate` at most, each outcome recorded in
    /// the ledger as it comes; failures printed by row. Returns the number of addresses not sent to.
    private func send(_ links: [(line: Int, link: IssuedLink)], _ installation: Installation) async throws -> Int {
        guard let sender else { return 0 }
        let progress = ProgressBar(total: links.count)
        let started = ContinuousClock.now
        var sent = 0, notSent = 0
        for (index, (line, link)) in links.enumerated() {
            if let rate { try await Task.sleep(until: started + .seconds(Double(index) / rate)) }
            let deliveries = try await sender.send(link, installation)
            for delivery in deliveries where delivery.state == .failed {
                progress.report(TerminalText.field("row \(line): not sent to \(delivery.address): \(delivery.detail)"))
            }
            sent += deliveries.filter { $0.state == .sent }.count
            notSent += deliveries.filter { $0.state == .failed }.count
            progress.advance(to: index + 1)
        }
        progress.finish()
        FileHandle.standardError.write(Data("portal-links: emailed \(links.count) links: \(sent) addresses sent to, \(notSent) not\n".utf8))
        return notSent
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
