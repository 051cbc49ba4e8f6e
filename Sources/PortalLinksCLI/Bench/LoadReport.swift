import Foundation
import Histogram
import PortalLinks
import PortalLinksBench
import PortalLinksWire

/// Prints what a `bench --connect` run measured, as text, JSON, CSV or an HTML page with a percentile plot.
/// `run` is what `bench merge` and `bench compare` read back from the JSON.
struct LoadReport {
    let run: BenchRun
    /// What the sign-ins alongside measured, with --sign-ins.
    var signIns: SignInLoad.Report? = nil

    init(run: BenchRun, signIns: SignInLoad.Report? = nil) {
        self.run = run
        self.signIns = signIns
    }

    init(result: LoadResult, plan: LoadPlan, mix: String, signIns: SignInLoad.Report? = nil) {
        let seconds = Double(result.elapsed.components.seconds) + Double(result.elapsed.components.attoseconds) / 1e18
        let parameters = BenchRun.Parameters(
            target: "\(plan.host):\(plan.port)", transport: "binary", method: "Links.Verify", connections: plan.connections,
            depth: plan.depth, rate: plan.rate,
            warmupSeconds: Double(plan.warmup.components.seconds) + Double(plan.warmup.components.attoseconds) / 1e18,
            mix: mix, generators: [ProcessInfo.processInfo.hostName], version: PortalLinksCommand.version)
        let statuses = Dictionary(result.statuses.map { (StatusCode(rawValue: $0.key).description, $0.value) }, uniquingKeysWith: +)
        self.init(run: BenchRun(parameters: parameters, startedAt: result.startedAt, durationSeconds: seconds, statuses: statuses,
                                histogram: result.histogram, seconds: result.seconds),
                  signIns: signIns)
    }

    var plan: BenchRun.Parameters { run.parameters }
    var seconds: Double { run.durationSeconds }
    var rate: Double { run.requestsPerSecond }
    var errors: Int { run.errors }
    var latencies: [(String, Double)] { run.latencies.map { ($0.name, $0.microseconds) } }
    var statuses: [(String, Int)] { run.statuses.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    var text: String {
        let latency = latencies.map { "\($0.0) \(Self.format($0.1))" }.joined(separator: "  ")
        let errorText = errors == 0 ? "none" : statuses.filter { $0.0 != "OK" }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return """
            requests     \(run.requests) in \(String(format: "%.2f", seconds)) s over \(plan.connections) connections, depth \(plan.depth)\(plan.rate.map { ", open loop at \(Int($0))/s" } ?? "")\(plan.generators.count > 1 ? " from \(plan.generators.count) generators" : "")
            mix          \(TerminalText.field(plan.mix))
            throughput   \(String(format: "%.0f", rate)) requests/s
            latency µs   \(latency)
            errors       \(errorText)
            """ + (signIns.map { "\n" + $0.text } ?? "")
    }

    var json: String {
        var object = run.jsonObject
        if let signIns { object["sign_ins"] = try? JSONSerialization.jsonObject(with: Data(signIns.json.text.utf8)) }
        return BenchRun.jsonText(object)
    }

    var csv: String {
        let header = ["requests", "duration_s", "requests_per_second", "connections", "depth", "errors"]
            + latencies.map { "latency_\($0.0.replacingOccurrences(of: ".", with: "_"))_us" }
        let row = [String(run.requests), String(format: "%.3f", seconds), String(format: "%.0f", rate),
                   String(plan.connections), String(plan.depth), String(errors)] + latencies.map { Self.format($0.1) }
        return header.joined(separator: ",") + "\n" + row.joined(separator: ",")
    }

    /// A self-contained page: the figures and a plot of latency against percentile (log scale of 1/(1-p)).
    var html: String {
        var points: [(x: Double, y: Double)] = []
        for value in run.histogram.percentiles(ticksPerHalfDistance: 5) {
            let percentile = min(value.percentileLevelIteratedTo, 99.9999)
            points.append((log10(100 / (100 - percentile)), Double(value.value) / 1_000))
        }
        let width = 760.0, height = 360.0, margin = 50.0
        let maxX = max(points.map(\.x).max() ?? 1, 1), maxY = max(points.map(\.y).max() ?? 1, 1)
        let polyline = points.map { point in
            String(format: "%.1f,%.1f", margin + point.x / maxX * (width - 2 * margin),
                   height - margin - point.y / maxY * (height - 2 * margin))
        }.joined(separator: " ")
        let ticks = [0.0, 90, 99, 99.9, 99.99].filter { log10(100 / (100 - $0)) <= maxX }.map { percentile -> String in
            let x = margin + log10(100 / (100 - percentile)) / maxX * (width - 2 * margin)
            return String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">p%g</text>", x, height - margin + 16, percentile)
        }.joined()
        let rows = latencies.map { "<tr><td>\($0.0)</td><td>\(Self.format($0.1)) µs</td></tr>" }.joined()
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>PortalLinks verify benchmark</title>
            <style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}</style></head><body>
            <h1>PortalLinks verify benchmark</h1>
            <p>\(run.requests) requests in \(String(format: "%.2f", seconds)) s: \(String(format: "%.0f", rate)) requests/s over \(plan.connections) connections, depth \(plan.depth)\(plan.rate.map { ", open loop at \(Int($0))/s" } ?? ""); mix \(HTMLText.escape(plan.mix)); \(errors) errors.</p>
            <table>\(rows)</table>
            <svg width="\(Int(width))" height="\(Int(height))" xmlns="http://www.w3.org/2000/svg">
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="white" stroke="#ccc"/>
            <polyline fill="none" stroke="#1f6feb" stroke-width="2" points="\(polyline)"/>
            \(ticks)
            <text x="\(Int(margin))" y="20" font-size="12">latency, max \(Self.format(maxY)) µs</text>
            </svg></body></html>
            """
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}
