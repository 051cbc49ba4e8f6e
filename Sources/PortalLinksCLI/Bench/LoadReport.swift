import Foundation
import Histogram
import PortalLinks
import PortalLinksWire

/// Prints what a `bench --connect` run measured, as text, JSON, CSV or an HTML page with a percentile plot.
struct LoadReport {
    let result: LoadResult
    let plan: LoadPlan
    let mix: String
    /// What the sign-ins alongside measured, with --sign-ins.
    var signIns: SignInLoad.Report? = nil

    var seconds: Double { Double(result.elapsed.components.seconds) + Double(result.elapsed.components.attoseconds) / 1e18 }
    var rate: Double { seconds > 0 ? Double(result.requests) / seconds : 0 }

    /// Latency in microseconds at the reported percentiles.
    var latencies: [(String, Double)] {
        let histogram = result.histogram
        let micro = { (value: UInt64) in Double(value) / 1_000 }
        return [("min", micro(histogram.min)), ("p50", micro(histogram.valueAtPercentile(50))),
                ("p90", micro(histogram.valueAtPercentile(90))), ("p99", micro(histogram.valueAtPercentile(99))),
                ("p99.9", micro(histogram.valueAtPercentile(99.9))), ("max", micro(histogram.max))]
    }

    var statuses: [(String, Int)] {
        result.statuses.sorted { $0.key < $1.key }.map { (StatusCode(rawValue: $0.key).description, $0.value) }
    }

    var errors: Int { result.statuses.filter { $0.key != StatusCode.ok.rawValue }.values.reduce(0, +) }

    var text: String {
        let latency = latencies.map { "\($0.0) \(Self.format($0.1))" }.joined(separator: "  ")
        let errorText = errors == 0 ? "none" : statuses.filter { $0.0 != "OK" }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return """
            requests     \(result.requests) in \(String(format: "%.2f", seconds)) s over \(plan.connections) connections, depth \(plan.depth)\(plan.rate.map { ", open loop at \(Int($0))/s" } ?? "")
            mix          \(mix)
            throughput   \(String(format: "%.0f", rate)) requests/s
            latency µs   \(latency)
            errors       \(errorText)
            """ + (signIns.map { "\n" + $0.text } ?? "")
    }

    var json: String {
        JSONText.object([
            ("requests", result.requests), ("duration_s", (seconds * 1_000).rounded() / 1_000),
            ("requests_per_second", rate.rounded()), ("connections", plan.connections), ("depth", plan.depth),
            ("rate", plan.rate), ("mix", mix), ("errors", errors),
            ("statuses", RawJSON(text: JSONText.object(statuses.map { ($0.0, $0.1) }))),
            ("latency_us", RawJSON(text: JSONText.object(latencies.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) }))),
            ("sign_ins", signIns?.json),
        ])
    }

    var csv: String {
        let header = ["requests", "duration_s", "requests_per_second", "connections", "depth", "errors"]
            + latencies.map { "latency_\($0.0.replacingOccurrences(of: ".", with: "_"))_us" }
        let row = [String(result.requests), String(format: "%.3f", seconds), String(format: "%.0f", rate),
                   String(plan.connections), String(plan.depth), String(errors)] + latencies.map { Self.format($0.1) }
        return header.joined(separator: ",") + "\n" + row.joined(separator: ",")
    }

    /// A self-contained page: the figures and a plot of latency against percentile (log scale of 1/(1-p)).
    var html: String {
        var points: [(x: Double, y: Double)] = []
        for value in result.histogram.percentiles(ticksPerHalfDistance: 5) {
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
            <p>\(result.requests) requests in \(String(format: "%.2f", seconds)) s: \(String(format: "%.0f", rate)) requests/s over \(plan.connections) connections, depth \(plan.depth)\(plan.rate.map { ", open loop at \(Int($0))/s" } ?? ""); mix \(HTMLText.escape(mix)); \(errors) errors.</p>
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
