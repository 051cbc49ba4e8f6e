import Foundation
import Testing
@testable import PortalLinksBench

/// The HTML report: one page that fetches nothing, with what a reader who was not there needs, and every
/// text from a run file escaped (a run file may come from anyone's machine).
@Suite struct BenchReportTests {
    static func run(generator: String, rate: Double? = nil, lateSends: Int = 0) -> BenchRun {
        var generatorRNG = SystemRandomNumberGenerator()
        let latencies = MergeAndCompareTests.latencies(20_000, median: 90_000, using: &generatorRNG)
        var run = MergeAndCompareTests.run(latencies, generator: generator, startedAt: 1_800_000_000, perSecond: 4_000)
        run.parameters.rate = rate
        run.answers = ["valid": 18_000, "expired": 2_000]
        run.sentByKind = ["valid": 18_000, "expired": 2_000]
        run.lateSends = lateSends
        run.generatorCPUSeconds = 4.2
        return run
    }

    @Test func aPageThatFetchesNothingWithEverySection() {
        let html = BenchReport(title: "t", entries: [.init("gen-a", Self.run(generator: "gen-a"))]).html
        for part in ["Latency by percentile", "99.999%", "percentile", "latency (µs)", "Throughput, each second", "answers per second",
                     "p50 and p99, each second", "Sent, by kind of token", "Answers, by what they said", "Answers, by status",
                     "Parameters", "closed loop", "generator hosts", "version"] {
            #expect(html.contains(part), "\(part)")
        }
        #expect(html.components(separatedBy: "<svg").count - 1 == 3 && html.components(separatedBy: "<polyline").count - 1 == 4)
        // Nothing to fetch: no scripts, stylesheets, images or frames, and no address but SVG's namespace.
        for fetching in ["<script", "<link", "<img", "<iframe", "@import", "url("] { #expect(!html.contains(fetching), "\(fetching)") }
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").range(of: "https?://", options: .regularExpression) == nil)
    }

    @Test func anOpenLoopShowsOfferedAgainstAchievedAndWarnsWhenTheGeneratorFellBehind() {
        let kept = BenchReport(title: "t", entries: [.init("a", Self.run(generator: "a", rate: 5_000))]).html
        #expect(kept.contains("offered 5000 calls/s") && !kept.contains("fell behind"))
        let behind = BenchReport(title: "t", entries: [.init("a", Self.run(generator: "a", rate: 5_000, lateSends: 900))]).html
        #expect(behind.contains("The generator fell behind its schedule") && behind.contains("900 calls went out more than 1 ms late"))
        #expect(behind.contains("cores of CPU"))
    }

    /// Answers to calls in flight when a 5 s window closed land in a sixth, partial second: drawn as a rate it
    /// would look like a stall, so the charts draw whole seconds only (the totals keep every answer).
    @Test func theChartsDrawWholeSecondsOnly() {
        var run = Self.run(generator: "a")
        run.seconds = (0..<5).map { _ in BenchRun.Second(requests: 4_000) } + [BenchRun.Second(requests: 12)]
        run.durationSeconds = 5.004
        #expect(BenchReport.drawnSeconds(run).count == 5)
        run.durationSeconds = 5.9  // a drain past -z that lasted most of a second: still not a whole one
        #expect(BenchReport.drawnSeconds(run).count == 5)
        run.durationSeconds = 0.4  // shorter than a second: that second is all there is
        run.seconds = [BenchRun.Second(requests: 300)]
        #expect(BenchReport.drawnSeconds(run).count == 1)
    }

    @Test func runsDrawnTogetherAndTheComparisonTabled() {
        let baseline = Self.run(generator: "a"), candidate = Self.run(generator: "b")
        let html = BenchReport(title: "t", entries: [.init("baseline", baseline), .init("candidate", candidate)],
                               comparison: BenchComparison(baseline: baseline, candidate: candidate)).html
        #expect(html.contains("Baseline against candidate") && html.contains("against the runs' own spread"))
        #expect(html.components(separatedBy: "<polyline").count - 1 == 8, "two runs in each chart (p50 and p99 each in the third)")
    }

    /// Labels, generator names, targets and mixes come from run files: escaped wherever they land.
    @Test func textFromRunFilesIsEscaped() {
        var run = Self.run(generator: "<script>alert(1)</script>")
        run.parameters.target = "\"><img src=x onerror=alert(1)>"
        run.parameters.mix = "valid=100&<b class=x>"
        run.answers["<i class=x>reason</i>"] = 1
        let html = BenchReport(title: "<title>", entries: [.init("<svg onload=alert(1)>", run)]).html
        for raw in ["<script>", "<img", "<b class=x>", "<i class=x>", "<svg onload", "<title><title>"] {
            #expect(!html.contains(raw), "\(raw)")
        }
        #expect(html.contains("<title>&lt;title&gt;</title>") && html.contains("valid=100&amp;&lt;b class=x&gt;"))
        #expect(html.contains("&lt;script&gt;") && html.contains("&lt;svg onload=alert(1)&gt;"))
    }
}
