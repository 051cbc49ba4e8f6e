import Foundation
import PortalLinks

/// One self-contained HTML page (inline SVG and CSS, nothing fetched) for a run, a merge with the runs it
/// came from, or a comparison, readable by someone who was not there: the latency spectrum on HdrHistogram's
/// log axis, each second's throughput, p50 and p99, the results by kind and by answer, the parameters, and
/// for an open loop whether the generator kept its schedule.
public struct BenchReport {
    public struct Entry {
        public let label: String
        public let run: BenchRun
        public init(_ label: String, _ run: BenchRun) {
            self.label = label
            self.run = run
        }
    }

    let title: String
    let entries: [Entry]
    let comparison: BenchComparison?

    public init(title: String, entries: [Entry], comparison: BenchComparison? = nil) {
        self.title = title
        self.entries = entries
        self.comparison = comparison
    }

    static let colors = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7f8f", "#57606a"]

    /// The percentiles on the spectrum's axis: HdrHistogram's, where p99.9 is as far from p99 as p99 from p90.
    static let spectrumTicks: [(percentile: Double, label: String)] = [
        (50, "50%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%"), (99.999, "99.999%"),
    ]

    static func spectrumX(_ percentile: Double) -> Double { log10(100 / (100 - percentile)) }

    public var html: String {
        var page = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(HTMLText.escape(title))</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:960px;color:#1f2328}
            table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
            th:first-child,td:first-child{text-align:left}.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.6em 1em}
            figure{margin:1em 0}figcaption{font-size:.9em;color:#57606a}</style></head><body>
            <h1>\(HTMLText.escape(title))</h1>

            """
        page += summary
        page += warnings
        if let comparison { page += comparisonTable(comparison) }
        page += "<figure>" + spectrum.svg + "<figcaption>Latency at each percentile, from each call's intended send time. "
            + "The horizontal axis is HdrHistogram's: each step right is ten times rarer (p99 is 1 call in 100, p99.9 1 in 1,000).</figcaption></figure>\n"
        page += "<figure>" + throughput.svg + "<figcaption>Answers in each whole second of the measured window: stalls and pauses show here.</figcaption></figure>\n"
        page += "<figure>" + perSecondLatency.svg + "<figcaption>p50 (solid) and p99 (dashed) of the answers in each second.</figcaption></figure>\n"
        page += percentileTable + resultTables + parameterTable
        return page + "</body></html>\n"
    }

    private var summary: String {
        "<p>" + entries.map { entry in
            let run = entry.run
            return "<b>\(HTMLText.escape(entry.label))</b>: \(run.requests) calls in \(String(format: "%.1f", run.durationSeconds)) s, "
                + "\(String(format: "%.0f", run.requestsPerSecond)) per second, p50 \(Self.microseconds(run.histogram.valueAtPercentile(50))), "
                + "p99 \(Self.microseconds(run.histogram.valueAtPercentile(99))), \(run.errors) errors."
        }.joined(separator: "<br>") + "</p>\n"
    }

    /// An open-loop figure is honest only when the generator kept its schedule.
    private var warnings: String {
        entries.compactMap { entry -> String? in
            let run = entry.run
            guard let rate = run.parameters.rate else { return nil }
            let cores = run.durationSeconds > 0 ? run.generatorCPUSeconds / run.durationSeconds : 0
            let offered = "<p>\(HTMLText.escape(entry.label)): offered \(String(format: "%.0f", rate)) calls/s, achieved "
                + "\(String(format: "%.0f", run.requestsPerSecond)) calls/s; the generator used \(String(format: "%.1f", run.generatorCPUSeconds)) s "
                + "of CPU (\(String(format: "%.2f", cores)) cores).</p>\n"
            guard run.generatorFellBehind else { return offered }
            return "<p class=\"warning\"><b>The generator fell behind its schedule</b> (\(HTMLText.escape(entry.label))): "
                + "\(run.lateSends) calls went out more than 1 ms late, the latest \(Self.microseconds(UInt64(run.maximumSendLagMicroseconds * 1_000))) "
                + "late, with \(String(format: "%.2f", cores)) cores of CPU in use. Latencies still count from the intended times, but the "
                + "server was not offered \(String(format: "%.0f", rate)) calls/s: use more generator threads or machines, or a lower --rps.</p>\n"
                + offered
        }.joined()
    }

    private func comparisonTable(_ comparison: BenchComparison) -> String {
        var rows = "<h2>Baseline against candidate</h2><table><tr><th></th><th>baseline</th><th>candidate</th><th>ratio</th><th>against the runs' own spread</th></tr>"
        for row in comparison.rows {
            let verdict = row.isWithinSpread == false ? "<b>\(row.verdict)</b>" : row.verdict
            rows += "<tr><td>\(HTMLText.escape(row.name)) \(HTMLText.escape(row.unit))</td><td>\(Self.figure(row.baseline))</td>"
                + "<td>\(Self.figure(row.candidate))</td><td>\(row.ratio.isNaN ? "-" : String(format: "%.2fx", row.ratio))</td><td>\(verdict)</td></tr>"
        }
        return rows + "</table>\n"
    }

    private var spectrum: SVGChart {
        SVGChart(title: "Latency by percentile", xTitle: "percentile", yTitle: "latency (µs)",
                 xTicks: Self.spectrumTicks.map { (Self.spectrumX($0.percentile), $0.label) },
                 series: entries.enumerated().map { index, entry in
                     var points: [(x: Double, y: Double)] = []
                     for value in entry.run.histogram.percentiles(ticksPerHalfDistance: 5) {
                         let percentile = min(value.percentileLevelIteratedTo, 99.999)
                         guard percentile >= 50 else { continue }
                         points.append((Self.spectrumX(percentile), Double(value.value) / 1_000))
                         if percentile >= 99.999 { break }
                     }
                     return .init(label: entry.label, color: Self.colors[index % Self.colors.count], points: points)
                 })
    }

    private var secondTicks: [(value: Double, label: String)] {
        let longest = entries.map { Self.drawnSeconds($0.run).count }.max() ?? 1
        let step = max(1, SVGChart.niceTicks(upTo: Double(longest)).dropFirst().first.map { Int($0) } ?? 1)
        return stride(from: 0, through: max(longest, 1), by: step).map { (Double($0), "\($0)") }
    }

    /// The whole seconds of the measured window. The answers to calls still in flight when it closed fall into a
    /// last, partial second, which drawn as a rate would look like a stall; they are in every total.
    static func drawnSeconds(_ run: BenchRun) -> ArraySlice<BenchRun.Second> {
        run.seconds.prefix(max(1, Int((run.durationSeconds + 0.05).rounded(.down))))
    }

    private var throughput: SVGChart {
        SVGChart(title: "Throughput, each second", xTitle: "second of the measured window", yTitle: "answers per second",
                 xTicks: secondTicks,
                 series: entries.enumerated().map { index, entry in
                     .init(label: entry.label, color: Self.colors[index % Self.colors.count],
                           points: Self.drawnSeconds(entry.run).enumerated().map { (Double($0.offset) + 0.5, Double($0.element.requests)) })
                 })
    }

    private var perSecondLatency: SVGChart {
        SVGChart(title: "p50 and p99, each second", xTitle: "second of the measured window", yTitle: "latency (µs)",
                 xTicks: secondTicks,
                 series: entries.enumerated().flatMap { index, entry -> [SVGChart.Series] in
                     let seconds = Self.drawnSeconds(entry.run).enumerated().filter { $0.element.histogram.totalCount > 0 }
                     let color = Self.colors[index % Self.colors.count]
                     return [
                         .init(label: "\(entry.label) p50", color: color,
                               points: seconds.map { (Double($0.offset) + 0.5, Double($0.element.histogram.valueAtPercentile(50)) / 1_000) }),
                         .init(label: "\(entry.label) p99", color: color,
                               points: seconds.map { (Double($0.offset) + 0.5, Double($0.element.histogram.valueAtPercentile(99)) / 1_000) },
                               dashed: true),
                     ]
                 })
    }

    private var percentileTable: String {
        var table = "<h2>Latency (µs)</h2><table><tr><th></th>" + entries.map { "<th>\(HTMLText.escape($0.label))</th>" }.joined() + "</tr>"
        let names = entries.first?.run.latencies.map(\.name) ?? []
        for (row, name) in names.enumerated() {
            table += "<tr><td>\(HTMLText.escape(name))</td>" + entries.map { "<td>\(Self.figure($0.run.latencies[row].microseconds))</td>" }.joined() + "</tr>"
        }
        return table + "</table>\n"
    }

    private var resultTables: String {
        func table(_ heading: String, _ counts: (BenchRun) -> [String: Int]) -> String {
            let keys = Set(entries.flatMap { counts($0.run).keys }).sorted()
            guard !keys.isEmpty else { return "" }
            var out = "<h2>\(HTMLText.escape(heading))</h2><table><tr><th></th>" + entries.map { "<th>\(HTMLText.escape($0.label))</th>" }.joined() + "</tr>"
            for key in keys {
                out += "<tr><td>\(HTMLText.escape(key))</td>" + entries.map { entry -> String in
                    let count = counts(entry.run)[key, default: 0]
                    let total = counts(entry.run).values.reduce(0, +)
                    return "<td>\(count) (\(total > 0 ? String(format: "%.1f", Double(count) * 100 / Double(total)) : "0")%)</td>"
                }.joined() + "</tr>"
            }
            return out + "</table>\n"
        }
        return table("Sent, by kind of token", \.sentByKind) + table("Answers, by what they said", \.answers)
            + table("Answers, by status", \.statuses)
    }

    private var parameterTable: String {
        let formatter = ISO8601DateFormatter()
        let rows: [(String, (BenchRun) -> String)] = [
            ("target", { $0.parameters.target }), ("transport", { $0.parameters.transport }), ("method", { $0.parameters.method }),
            ("connections", { "\($0.parameters.connections)" }), ("depth (calls in flight each)", { "\($0.parameters.depth)" }),
            ("load", { $0.parameters.rate.map { String(format: "open loop, %.0f calls/s offered", $0) } ?? "closed loop" }),
            ("duration", { String(format: "%.1f s", $0.durationSeconds) }), ("warm-up", { String(format: "%g s", $0.parameters.warmupSeconds) }),
            ("mix", { $0.parameters.mix }), ("started", { formatter.string(from: Date(timeIntervalSince1970: $0.startedAt)) }),
            ("generator hosts", { $0.parameters.generators.joined(separator: ", ") }),
            ("generator CPU", { String(format: "%.1f s", $0.generatorCPUSeconds) }), ("version", { $0.parameters.version }),
        ]
        var table = "<h2>Parameters</h2><table><tr><th></th>" + entries.map { "<th>\(HTMLText.escape($0.label))</th>" }.joined() + "</tr>"
        for (name, value) in rows {
            table += "<tr><td>\(HTMLText.escape(name))</td>" + entries.map { "<td>\(HTMLText.escape(value($0.run)))</td>" }.joined() + "</tr>"
        }
        return table + "</table>\n"
    }

    static func figure(_ value: Double) -> String { value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value) }

    static func microseconds(_ nanoseconds: UInt64) -> String { figure(Double(nanoseconds) / 1_000) + " µs" }
}
