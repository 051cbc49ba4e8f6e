import Foundation
import Histogram
import Testing
@testable import PortalLinksBench

/// Runs from several generators merged into one result, and runs compared.
@Suite struct MergeAndCompareTests {
    static func parameters(generator: String, connections: Int = 25) -> BenchRun.Parameters {
        .init(target: "10.0.0.1:7420", transport: "binary", method: "Links.Verify", connections: connections, depth: 1, rate: nil,
              warmupSeconds: 1, mix: "valid=100", generators: [generator], version: "test")
    }

    /// A run as `bench` would write it: latencies, in order, one second after another.
    static func run(_ latencies: [UInt64], generator: String, startedAt: Double, perSecond: Int) -> BenchRun {
        var histogram = BenchRun.runHistogram()
        var seconds: [BenchRun.Second] = []
        for (index, latency) in latencies.enumerated() {
            _ = histogram.record(latency)
            if index % perSecond == 0 { seconds.append(BenchRun.Second()) }
            seconds[seconds.count - 1].requests += 1
            _ = seconds[seconds.count - 1].histogram.record(latency)
        }
        return BenchRun(parameters: parameters(generator: generator), startedAt: startedAt, durationSeconds: Double(seconds.count),
                        statuses: ["OK": latencies.count], histogram: histogram, seconds: seconds)
    }

    /// Through the JSON a generator writes and `bench merge` reads.
    static func written(_ run: BenchRun) throws -> BenchRun {
        try BenchRun(json: Data(BenchRun.jsonText(run.jsonObject).utf8))
    }

    static func latencies(_ count: Int, median: Double, using generator: inout some RandomNumberGenerator) -> [UInt64] {
        (0..<count).map { _ in UInt64(median * exp(Double.random(in: -1...1, using: &generator) * Double.random(in: 0...3, using: &generator))) }
    }

    @Test func oneRunSplitAcrossTwoGeneratorsMergesToThePercentilesOfAllItsCalls() throws {
        var generator = SystemRandomNumberGenerator()
        let calls = Self.latencies(60_000, median: 80_000, using: &generator)
        var everyCall = BenchRun.runHistogram()
        for latency in calls { _ = everyCall.record(latency) }
        let all = HistogramText.normalized(everyCall)
        // Each call went to one generator or the other, by chance; both ran the same six seconds.
        var first: [UInt64] = [], second: [UInt64] = []
        for latency in calls { if Bool.random(using: &generator) { first.append(latency) } else { second.append(latency) } }
        let merged = try BenchRun.merged([
            try Self.written(Self.run(first, generator: "gen-a", startedAt: 1_000, perSecond: first.count / 6 + 1)),
            try Self.written(Self.run(second, generator: "gen-b", startedAt: 1_000.2, perSecond: second.count / 6 + 1)),
        ])
        #expect(merged.requests == calls.count && merged.histogram.totalCount == UInt64(calls.count))
        for percentile in [0.0, 50, 90, 99, 99.9, 99.99, 99.999, 100] {
            #expect(merged.histogram.valueAtPercentile(percentile) == all.valueAtPercentile(percentile), "p\(percentile)")
        }
        #expect(merged.parameters.generators == ["gen-a", "gen-b"] && merged.parameters.connections == 50)
        #expect(merged.seconds.count == 6 && merged.seconds.map(\.requests).reduce(0, +) == calls.count, "lined up by start time")
        // Throughput is the sum of the generators' (each ran 6 s): 10,000 calls a second.
        #expect(abs(merged.requestsPerSecond - 10_000) < 0.01)
        // And what was merged merges again, through its own JSON.
        let again = try Self.written(merged)
        #expect(again.histogram.valueAtPercentile(99) == all.valueAtPercentile(99) && again.parameters.generators.count == 2)
    }

    @Test func differentMethodsAreComparedNotMerged() throws {
        var other = Self.run([1_000], generator: "b", startedAt: 0, perSecond: 1)
        other.parameters.method = "Sessions.Verify"
        #expect(throws: BenchRun.FormatError.self) { try BenchRun.merged([Self.run([1_000], generator: "a", startedAt: 0, perSecond: 1), other]) }
    }

    @Test func comparisonSaysWhatIsWithinTheRunsOwnSpread() throws {
        var generator = SystemRandomNumberGenerator()
        let baseline = try Self.written(Self.run(Self.latencies(50_000, median: 100_000, using: &generator), generator: "a", startedAt: 0, perSecond: 5_000))
        let again = try Self.written(Self.run(Self.latencies(50_000, median: 100_000, using: &generator), generator: "a", startedAt: 0, perSecond: 5_000))
        let slower = try Self.written(Self.run(Self.latencies(50_000, median: 300_000, using: &generator), generator: "a", startedAt: 0, perSecond: 5_000))
        let same = BenchComparison(baseline: baseline, candidate: again)
        #expect(same.rows.first { $0.name == "p50" }?.isWithinSpread == true, "the same load twice")
        #expect(same.rows.first { $0.name == "throughput" }?.isWithinSpread == true)
        let changed = BenchComparison(baseline: baseline, candidate: slower)
        let p50 = try #require(changed.rows.first { $0.name == "p50" })
        #expect(p50.isWithinSpread == false && (2.5...3.5).contains(p50.ratio), "\(p50)")
        #expect(changed.rows.map(\.name) == ["throughput", "p50", "p90", "p99", "p99.9", "p99.99", "p99.999", "max"])
        // Shorter than two whole seconds: no spread to judge by.
        let short = Self.run([1_000, 2_000], generator: "a", startedAt: 0, perSecond: 10)
        #expect(BenchComparison(baseline: short, candidate: short).rows[0].isWithinSpread == nil)
    }

    @Test func aFileThatIsNotARunNamesWhatIsWrong() throws {
        var object = Self.run([1_000, 2_000], generator: "a", startedAt: 0, perSecond: 10).jsonObject
        object["statuses"] = ["OK": 3]
        #expect(throws: BenchRun.FormatError.self) { try BenchRun(json: Data(BenchRun.jsonText(object).utf8)) }
        object.removeValue(forKey: "histogram")
        do {
            _ = try BenchRun(json: Data(BenchRun.jsonText(object).utf8))
            Issue.record("read a run without its histogram")
        } catch { #expect("\(error)".contains("histogram")) }
    }
}
