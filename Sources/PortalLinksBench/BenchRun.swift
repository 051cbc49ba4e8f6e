import Foundation
import Histogram

/// What one `bench` run measured, or several merged, as `bench --format json` writes it and `bench merge` and
/// `bench compare` read it: the parameters, the counts, every latency (HdrHistogram's standard encoding, in
/// nanoseconds) and the same for every second of the measured window.
public struct BenchRun: Sendable {
    /// How the run was made: what a reader needs to know who was not there.
    public struct Parameters: Sendable, Codable, Equatable {
        public var target: String
        /// `binary` (the wire protocol) or `http` (the gateway).
        public var transport: String
        /// The call loaded: `Links.Verify`, `Sessions.Verify` (over either transport; Connect JSON over HTTP),
        /// or `forward auth /auth/link` and `forward auth /auth/session`.
        public var method: String
        public var connections: Int
        public var depth: Int
        /// Calls per second offered (open loop), or nil for a closed loop.
        public var rate: Double?
        public var warmupSeconds: Double
        public var mix: String
        /// The machines that generated the load, and the tool's version on them.
        public var generators: [String]
        public var version: String

        public init(target: String, transport: String, method: String, connections: Int, depth: Int, rate: Double?,
                    warmupSeconds: Double, mix: String, generators: [String], version: String) {
            self.target = target
            self.transport = transport
            self.method = method
            self.connections = connections
            self.depth = depth
            self.rate = rate
            self.warmupSeconds = warmupSeconds
            self.mix = mix
            self.generators = generators
            self.version = version
        }
    }

    /// One second of the measured window: the answers that arrived in it and their latencies.
    public struct Second: Sendable {
        public var requests: Int
        public var errors: Int
        public var histogram: Histogram<UInt64>

        public init(requests: Int = 0, errors: Int = 0, histogram: Histogram<UInt64> = BenchRun.secondHistogram()) {
            self.requests = requests
            self.errors = errors
            self.histogram = histogram
        }

        /// Adds another generator's or event loop's answers in the same second.
        public mutating func add(_ other: Second) {
            requests += other.requests
            errors += other.errors
            histogram.add(other.histogram)
        }
    }

    public var parameters: Parameters
    /// When the measured window began (seconds since 1970), to line up runs made side by side.
    public var startedAt: Double
    public var durationSeconds: Double
    /// Answers by status name (`OK`, `UNAVAILABLE`, HTTP statuses as `HTTP 200`).
    public var statuses: [String: Int]
    /// Answers by what they said (verify reasons such as `valid`, `expired`), where the method says one.
    public var answers: [String: Int]
    /// Latencies in nanoseconds, from each call's intended send time, as HdrHistogram's encoding keeps them
    /// (`HistogramText.normalized`), so that a run's own figures and those of its merges agree.
    public var histogram: Histogram<UInt64>
    public var seconds: [Second]
    /// Calls per second in total: for merged runs, the sum of each generator's.
    public var requestsPerSecond: Double
    /// Measured calls sent, by mix kind.
    public var sentByKind: [String: Int] = [:]
    /// The generators' own CPU time (user and system) during the run, summed.
    public var generatorCPUSeconds: Double = 0
    /// Open loop: calls sent more than a millisecond after their intended time (the generator fell behind its
    /// schedule), and the latest one's lag.
    public var lateSends = 0
    public var maximumSendLagMicroseconds: Double = 0

    /// Open loop and behind schedule: its figures are then not of the offered rate.
    public var generatorFellBehind: Bool {
        parameters.rate != nil && lateSends > max(10, requests / 1_000)
    }

    public var requests: Int { statuses.values.reduce(0, +) }
    /// Calls the server did not decide (a failed call, not a "no"), as each second counted them when measured.
    public var errors: Int { seconds.reduce(0) { $0 + $1.errors } }

    public init(parameters: Parameters, startedAt: Double, durationSeconds: Double, statuses: [String: Int],
                answers: [String: Int] = [:], histogram: Histogram<UInt64>, seconds: [Second]) {
        self.parameters = parameters
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.statuses = statuses
        self.answers = answers
        self.histogram = HistogramText.normalized(histogram)
        self.seconds = seconds.map { Second(requests: $0.requests, errors: $0.errors, histogram: HistogramText.normalized($0.histogram)) }
        requestsPerSecond = durationSeconds > 0 ? Double(statuses.values.reduce(0, +)) / durationSeconds : 0
    }

    /// The whole run's histogram: one nanosecond to a minute, three significant digits.
    public static func runHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// A second's: two significant digits, a twelfth of the memory, for one per second of a long run.
    public static func secondHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
    }

    /// The percentiles reported, by name.
    public static let percentiles: [(name: String, value: Double)] = [
        ("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99), ("p99.999", 99.999),
    ]

    /// Latency in microseconds at each reported percentile, with the minimum and maximum.
    public var latencies: [(name: String, microseconds: Double)] {
        var latencies: [(name: String, microseconds: Double)] = [("min", Double(histogram.min) / 1_000)]
        for (name, percentile) in Self.percentiles { latencies.append((name, Double(histogram.valueAtPercentile(percentile)) / 1_000)) }
        latencies.append(("max", Double(histogram.max) / 1_000))
        return latencies
    }
}
