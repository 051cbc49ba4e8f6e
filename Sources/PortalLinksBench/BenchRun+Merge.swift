import Foundation
import Histogram

extension BenchRun {
    /// Runs made side by side by several generators against one target, as one: every call's latency in one
    /// histogram (so the percentiles are those of all the calls, not an average of each run's), the rates
    /// summed, and the seconds lined up by the wall clock of each run's start.
    public static func merged(_ runs: [BenchRun]) throws -> BenchRun {
        guard let first = runs.first else { throw FormatError(description: "nothing to merge") }
        for run in runs.dropFirst() where run.parameters.method != first.parameters.method || run.parameters.transport != first.parameters.transport {
            throw FormatError(description: "runs of \(first.parameters.transport) \(first.parameters.method) and \(run.parameters.transport) "
                              + "\(run.parameters.method) measured different things: compare them (bench compare) instead")
        }
        let start = runs.map(\.startedAt).min()!
        let end = runs.map { $0.startedAt + $0.durationSeconds }.max()!
        func distinct(_ values: [String]) -> String { values.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.joined(separator: " | ") }
        let parameters = Parameters(
            target: distinct(runs.map(\.parameters.target)), transport: first.parameters.transport, method: first.parameters.method,
            connections: runs.map(\.parameters.connections).reduce(0, +), depth: runs.map(\.parameters.depth).max()!,
            rate: runs.allSatisfy { $0.parameters.rate != nil } ? runs.compactMap(\.parameters.rate).reduce(0, +) : nil,
            warmupSeconds: runs.map(\.parameters.warmupSeconds).max()!, mix: distinct(runs.map(\.parameters.mix)),
            generators: runs.flatMap(\.parameters.generators), version: distinct(runs.map(\.parameters.version)))
        var histogram = runHistogram()
        var statuses: [String: Int] = [:], answers: [String: Int] = [:]
        var seconds: [Second] = []
        for run in runs {
            histogram.add(run.histogram)
            statuses.merge(run.statuses, uniquingKeysWith: +)
            answers.merge(run.answers, uniquingKeysWith: +)
            let offset = Int((run.startedAt - start).rounded())
            for (index, second) in run.seconds.enumerated() {
                while seconds.count <= offset + index { seconds.append(Second()) }
                seconds[offset + index].add(second)
            }
        }
        var merged = BenchRun(parameters: parameters, startedAt: start, durationSeconds: end - start, statuses: statuses,
                              answers: answers, histogram: histogram, seconds: seconds)
        merged.requestsPerSecond = runs.map(\.requestsPerSecond).reduce(0, +)
        merged.sentByKind = runs.reduce(into: [:]) { $0.merge($1.sentByKind, uniquingKeysWith: +) }
        merged.generatorCPUSeconds = runs.map(\.generatorCPUSeconds).reduce(0, +)
        merged.lateSends = runs.map(\.lateSends).reduce(0, +)
        merged.maximumSendLagMicroseconds = runs.map(\.maximumSendLagMicroseconds).max()!
        return merged
    }
}
