import Foundation
import Histogram

/// `bench --format json`: the figures a person reads (rates, percentiles in microseconds, per-second p50 and
/// p99) beside what a program merges (the histograms, HdrHistogram-encoded, nanoseconds).
extension BenchRun {
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "version": parameters.version, "generators": parameters.generators, "target": parameters.target,
            "transport": parameters.transport, "method": parameters.method, "connections": parameters.connections,
            "depth": parameters.depth, "rate": parameters.rate ?? NSNull(), "warmup_s": parameters.warmupSeconds,
            "mix": parameters.mix, "started_at": startedAt, "duration_s": (durationSeconds * 1_000).rounded() / 1_000,
            "requests": requests, "requests_per_second": (requestsPerSecond * 1_000).rounded() / 1_000, "errors": errors,
            "statuses": statuses, "answers": answers,
            "histogram": HistogramText.encode(histogram),
            "sent_by_kind": sentByKind, "generator_cpu_s": (generatorCPUSeconds * 1_000).rounded() / 1_000,
            "late_sends": lateSends, "max_send_lag_us": maximumSendLagMicroseconds.rounded(),
        ]
        var latency: [String: Double] = [:]
        for (name, microseconds) in latencies { latency[name.replacingOccurrences(of: ".", with: "_")] = microseconds }
        object["latency_us"] = latency
        object["seconds"] = seconds.map { second -> [String: Any] in
            ["requests": second.requests, "errors": second.errors,
             "p50_us": Double(second.histogram.valueAtPercentile(50)) / 1_000,
             "p99_us": Double(second.histogram.valueAtPercentile(99)) / 1_000,
             "histogram": HistogramText.encode(second.histogram)]
        }
        return object
    }

    public static func jsonText(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads what `jsonObject` wrote; the error names the first field missing or wrong.
    public init(json data: Data) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw FormatError(description: "not a JSON object (bench --format json writes one)")
        }
        func field<T>(_ name: String, as type: T.Type = T.self) throws -> T {
            guard let value = object[name] as? T else { throw FormatError(description: "no '\(name)' of the right type") }
            return value
        }
        func decoded(_ text: String, _ name: String) throws -> Histogram<UInt64> {
            do { return try HistogramText.decode(text) } catch { throw FormatError(description: "'\(name)': \(error)") }
        }
        parameters = Parameters(
            target: try field("target"), transport: try field("transport"), method: try field("method"),
            connections: try field("connections"), depth: try field("depth"), rate: object["rate"] as? Double,
            warmupSeconds: try field("warmup_s"), mix: try field("mix"), generators: try field("generators"),
            version: try field("version"))
        startedAt = try field("started_at")
        durationSeconds = try field("duration_s")
        statuses = try field("statuses")
        answers = (object["answers"] as? [String: Int]) ?? [:]
        histogram = try decoded(try field("histogram"), "histogram")
        requestsPerSecond = try field("requests_per_second")
        seconds = try (try field("seconds", as: [[String: Any]].self)).enumerated().map { index, second in
            guard let requests = second["requests"] as? Int, let errors = second["errors"] as? Int,
                  let text = second["histogram"] as? String else {
                throw FormatError(description: "seconds[\(index)] lacks requests, errors or histogram")
            }
            return Second(requests: requests, errors: errors, histogram: try decoded(text, "seconds[\(index)].histogram"))
        }
        sentByKind = (object["sent_by_kind"] as? [String: Int]) ?? [:]
        generatorCPUSeconds = (object["generator_cpu_s"] as? Double) ?? 0
        lateSends = (object["late_sends"] as? Int) ?? 0
        maximumSendLagMicroseconds = (object["max_send_lag_us"] as? Double) ?? 0
        guard UInt64(requests) == histogram.totalCount else {
            throw FormatError(description: "its statuses count \(requests) answers and its histogram \(histogram.totalCount)")
        }
    }
}
