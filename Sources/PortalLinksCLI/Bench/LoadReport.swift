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
            target: plan.targetName, transport: plan.door == .binary ? "binary" : "http", method: plan.methodName, connections: plan.connections,
            depth: plan.depth, rate: plan.rate,
            warmupSeconds: Double(plan.warmup.components.seconds) + Double(plan.warmup.components.attoseconds) / 1e18,
            mix: mix, generators: [ProcessInfo.processInfo.hostName], version: PortalLinksCommand.version)
        let statuses = Dictionary(result.statuses.map { status, count in
            (plan.door == .binary ? StatusCode(rawValue: status).description : "HTTP \(status)", count)
        }, uniquingKeysWith: +)
        var run = BenchRun(parameters: parameters, startedAt: result.startedAt, durationSeconds: seconds, statuses: statuses,
                           answers: result.answers, histogram: result.histogram ?? BenchRun.runHistogram(), seconds: result.seconds)
        run.sentByKind = result.sentByKind
        run.generatorCPUSeconds = result.cpuSeconds
        run.lateSends = result.lateSends
        run.maximumSendLagMicroseconds = Double(result.maximumSendLag.nanoseconds) / 1_000
        self.init(run: run, signIns: signIns)
    }

    var plan: BenchRun.Parameters { run.parameters }
    var seconds: Double { run.durationSeconds }
    var rate: Double { run.requestsPerSecond }
    var errors: Int { run.errors }
    var latencies: [(String, Double)] { run.latencies.map { ($0.name, $0.microseconds) } }
    var statuses: [(String, Int)] { run.statuses.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    var text: String {
        let latency = latencies.map { "\($0.0) \(Self.format($0.1))" }.joined(separator: "  ")
        // Errors are calls the server did not decide; forward auth's 401s that say why are decided answers.
        let errorText = errors == 0 ? "none" : "\(errors) (statuses: " + statuses.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + ")"
        return """
            requests     \(run.requests) in \(String(format: "%.2f", seconds)) s over \(plan.connections) connections, depth \(plan.depth)\(plan.rate.map { ", open loop at \(Int($0))/s" } ?? "")\(plan.generators.count > 1 ? " from \(plan.generators.count) generators" : "")
            mix          \(TerminalText.field(plan.mix))
            throughput   \(String(format: "%.0f", rate)) requests/s
            latency µs   \(latency)
            errors       \(errorText)
            """ + openLoop + (signIns.map { "\n" + $0.text } ?? "")
    }

    /// Offered against achieved, and a warning when the generator fell behind its own schedule.
    private var openLoop: String {
        guard let offered = plan.rate else { return "" }
        let cores = seconds > 0 ? run.generatorCPUSeconds / seconds : 0
        var text = "\nopen loop    offered \(Int(offered))/s, achieved \(String(format: "%.0f", rate))/s; generator CPU "
            + String(format: "%.1f s (%.2f cores)", run.generatorCPUSeconds, cores)
        if run.generatorFellBehind {
            text += "\nWARNING      the generator fell behind its schedule: \(run.lateSends) calls sent over 1 ms late (the latest "
                + String(format: "%.1f ms", run.maximumSendLagMicroseconds / 1_000) + "); the server was not offered the rate asked for"
        }
        return text
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

    /// The self-contained HTML report (docs/load-testing.md).
    var html: String {
        BenchReport(title: "PortalLinks load test: \(plan.method) on \(plan.target)", entries: [.init(plan.generators.joined(separator: ", "), run)]).html
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}
