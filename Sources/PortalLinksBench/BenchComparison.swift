import Foundation
import Histogram

/// A baseline run against a candidate: throughput and each percentile side by side with their ratio, and
/// whether the difference is within the runs' own spread, the standard deviation of the same figure over the
/// seconds of each run (the larger of the two). A difference inside it is what the same run varies by from
/// one second to the next, not a change.
public struct BenchComparison: Sendable {
    public struct Row: Sendable {
        public let name: String
        public let unit: String
        public let baseline: Double
        public let candidate: Double
        /// The larger of the two runs' per-second standard deviations, or nil when a run has fewer than two
        /// whole seconds with answers.
        public let spread: Double?

        public var ratio: Double { baseline > 0 ? candidate / baseline : .nan }
        public var isWithinSpread: Bool? { spread.map { abs(candidate - baseline) <= $0 } }

        /// "within spread (±s)", "beyond spread (±s)", or "-" when there is no spread to judge by.
        public var verdict: String {
            guard let spread, let within = isWithinSpread else { return "-" }
            let amount = spread >= 100 ? String(format: "%.0f", spread) : String(format: "%.1f", spread)
            return "\(within ? "within" : "beyond") spread (±\(amount))"
        }
    }

    public let baseline: BenchRun
    public let candidate: BenchRun
    public let rows: [Row]

    public init(baseline: BenchRun, candidate: BenchRun) {
        self.baseline = baseline
        self.candidate = candidate
        var rows = [Row(name: "throughput", unit: "requests/s", baseline: baseline.requestsPerSecond, candidate: candidate.requestsPerSecond,
                        spread: Self.spread(Self.wholeSeconds(baseline).map { Double($0.requests) },
                                            Self.wholeSeconds(candidate).map { Double($0.requests) }))]
        for (name, percentile) in BenchRun.percentiles {
            let perSecond = { (run: BenchRun) in
                Self.wholeSeconds(run).filter { $0.histogram.totalCount > 0 }.map { Double($0.histogram.valueAtPercentile(percentile)) / 1_000 }
            }
            rows.append(Row(name: name, unit: "µs", baseline: Double(baseline.histogram.valueAtPercentile(percentile)) / 1_000,
                            candidate: Double(candidate.histogram.valueAtPercentile(percentile)) / 1_000,
                            spread: Self.spread(perSecond(baseline), perSecond(candidate))))
        }
        rows.append(Row(name: "max", unit: "µs", baseline: Double(baseline.histogram.max) / 1_000,
                        candidate: Double(candidate.histogram.max) / 1_000, spread: nil))
        self.rows = rows
    }

    /// The seconds wholly inside the measured window (the last one is usually cut short).
    static func wholeSeconds(_ run: BenchRun) -> ArraySlice<BenchRun.Second> {
        run.seconds.prefix(Int(run.durationSeconds + 0.001))
    }

    static func spread(_ baseline: [Double], _ candidate: [Double]) -> Double? {
        guard baseline.count >= 2, candidate.count >= 2 else { return nil }
        return max(standardDeviation(baseline), standardDeviation(candidate))
    }

    static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }
}
