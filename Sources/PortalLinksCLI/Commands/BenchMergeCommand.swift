import ArgumentParser
import Foundation
import PortalLinks
import PortalLinksBench

/// Reads the runs `bench --format json` wrote; each file's problem is named with it.
enum BenchRunFiles {
    static func read(_ path: String) throws -> BenchRun {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BenchError("\(TerminalText.field(path)): cannot be read")
        }
        do { return try BenchRun(json: data) } catch {
            throw BenchError("\(TerminalText.field(path)) is not a run written by bench --format json: \(error)")
        }
    }
}

struct BenchMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine runs made side by side from several machines into one result.",
        discussion: """
            Every call's latency goes into one histogram, so the percentiles are those of all the calls (not an \
            average of each run's percentiles); throughput is the sum of the generators'; the per-second series \
            are lined up by each run's start time (run the generators together, with synchronised clocks). Runs \
            of different methods or transports are refused: compare them instead. --format json writes a run \
            that can be merged or compared again.
            """)

    @Argument(help: ArgumentHelp("Runs written by bench --format json.", valueName: "RUN.json"))
    var runs: [String]

    @Option(help: "text or json.")
    var format: Format = .text

    @Option(help: ArgumentHelp("Also write an HTML report of the merged run.", valueName: "FILE"))
    var html: String?

    enum Format: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        guard runs.count >= 1 else { throw ValidationError("give the runs to merge: RUN.json...") }
    }

    func run() async throws {
        let inputs = try runs.map(BenchRunFiles.read)
        let merged: BenchRun
        do { merged = try BenchRun.merged(inputs) } catch let error as BenchRun.FormatError {
            throw BenchError(error.description)
        }
        let report = LoadReport(run: merged)
        print(format == .json ? report.json : report.text)
        if let html {
            // The merge and, beside it, each generator's run.
            let entries = [BenchReport.Entry("merged", merged)]
                + zip(runs, inputs).map { path, run in .init("\(run.parameters.generators.joined(separator: ", ")) (\(URL(fileURLWithPath: path).lastPathComponent))", run) }
            try BenchReport(title: "PortalLinks load test: \(merged.parameters.method) on \(merged.parameters.target), \(inputs.count) runs merged",
                            entries: entries).html.write(toFile: html, atomically: true, encoding: .utf8)
        }
    }
}

struct BenchCompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Put a candidate run beside a baseline: throughput and each percentile, their ratio, and whether the difference is within the runs' own spread.",
        discussion: """
            The spread of a figure is the larger of the two runs' standard deviations of that figure over their \
            whole seconds: a difference inside it is what one run varies by from second to second, not a change. \
            Runs shorter than two whole seconds have no spread to judge by ("-").
            """)

    @Argument(help: ArgumentHelp("The run to compare against, written by bench --format json.", valueName: "BASELINE.json"))
    var baseline: String

    @Argument(help: ArgumentHelp("The run being judged.", valueName: "CANDIDATE.json"))
    var candidate: String

    @Option(help: "text or json.")
    var format: BenchMergeCommand.Format = .text

    @Option(help: ArgumentHelp("Also write an HTML report with both runs drawn together.", valueName: "FILE"))
    var html: String?

    func run() async throws {
        let comparison = BenchComparison(baseline: try BenchRunFiles.read(baseline), candidate: try BenchRunFiles.read(candidate))
        print(format == .json ? Self.json(comparison) : Self.text(comparison))
        if let html {
            let name = { (path: String) in URL(fileURLWithPath: path).lastPathComponent }
            try BenchReport(title: "PortalLinks load tests compared: \(name(baseline)) and \(name(candidate))",
                            entries: [.init("baseline: \(name(baseline))", comparison.baseline), .init("candidate: \(name(candidate))", comparison.candidate)],
                            comparison: comparison).html.write(toFile: html, atomically: true, encoding: .utf8)
        }
    }

    static func text(_ comparison: BenchComparison) -> String {
        func figure(_ value: Double) -> String { value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value) }
        var lines = [Self.row("", "baseline", "candidate", "ratio", "")]
        for row in comparison.rows {
            lines.append(Self.row("\(row.name) \(row.unit)", figure(row.baseline), figure(row.candidate),
                                  row.ratio.isNaN ? "-" : String(format: "%.2fx", row.ratio), row.verdict))
        }
        let describe = { (run: BenchRun) in
            TerminalText.field("\(run.parameters.method) over \(run.parameters.transport) to \(run.parameters.target): ")
                + "\(run.requests) calls in \(String(format: "%.1f", run.durationSeconds)) s, \(run.parameters.connections) connections, depth \(run.parameters.depth), "
                + "from \(run.parameters.generators.map { TerminalText.field($0) }.joined(separator: ", "))"
        }
        return lines.joined(separator: "\n") + "\nbaseline:  \(describe(comparison.baseline))\ncandidate: \(describe(comparison.candidate))"
    }

    private static func row(_ name: String, _ baseline: String, _ candidate: String, _ ratio: String, _ verdict: String) -> String {
        name.padding(toLength: 22, withPad: " ", startingAt: 0) + baseline.leftPadded(12) + candidate.leftPadded(12) + ratio.leftPadded(9)
            + (verdict.isEmpty ? "" : "   " + verdict)
    }

    static func json(_ comparison: BenchComparison) -> String {
        BenchRun.jsonText(["rows": comparison.rows.map { row -> [String: Any] in
            ["name": row.name, "unit": row.unit, "baseline": row.baseline, "candidate": row.candidate,
             "ratio": row.ratio.isNaN ? NSNull() : row.ratio, "spread": row.spread ?? NSNull(),
             "within_spread": row.isWithinSpread.map { $0 as Any } ?? NSNull()]
        }])
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
