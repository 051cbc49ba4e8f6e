import NIOCore
import PortalLinksCore
import PortalLinksWire
import Synchronization

/// Counters and a latency histogram for the Prometheus endpoint. Connections count into plain local arrays
/// (`MetricsBatch`) and add them here once per read, so the hot path touches no shared memory per call.
public final class ServerMetrics: Sendable {
    /// The served methods, each with its own counters; calls of any other id count as "other".
    static let methods: [MethodID] = ServerMethod.all.map(\.id)
    /// Latency bucket bounds in seconds (Prometheus `le`), from 25 µs to 5 s.
    static let latencyBounds: [Double] = [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    static let statusCount = 17
    static let reasonSlots = VerifyReason.allCases.count + 1

    /// [method slot (the known methods + other)][status 0...16]
    fileprivate let requests: AtomicArray
    /// [0 valid, then each reason by wire value]
    fileprivate let verifyResults: AtomicArray
    /// [method slot][bucket ... , +Inf]
    fileprivate let latencyBuckets: AtomicArray
    fileprivate let latencyNanoseconds: AtomicArray

    public init() {
        assert(Self.methods.enumerated().allSatisfy { $1.rawValue == $0 + 1 }, "methodSlot assumes ids 1...n in order")
        requests = AtomicArray(count: (Self.methods.count + 1) * Self.statusCount)
        verifyResults = AtomicArray(count: Self.reasonSlots)
        latencyBuckets = AtomicArray(count: (Self.methods.count + 1) * (Self.latencyBounds.count + 1))
        latencyNanoseconds = AtomicArray(count: Self.methods.count + 1)
    }

    /// One call answered by a door that counts call by call (the HTTP gateway); `verified` carries a link
    /// verification's result (nil reason: valid) for Links.Verify and forward auth.
    package func record(_ method: MethodID, status: StatusCode, verified: VerifyReason?? = .none, latency: TimeAmount) {
        var batch = MetricsBatch()
        batch.record(method: method.rawValue, status: status)
        if case .some(let reason) = verified { batch.recordVerify(reason) }
        batch.flush(into: self, latency: latency)
    }

    static func methodSlot(_ method: UInt16) -> Int {
        // Method ids 1...n are the slots' order; anything else counts as "other".
        (1...UInt16(methods.count)).contains(method) ? Int(method) - 1 : methods.count
    }

    static func bucket(nanoseconds: Int64) -> Int {
        let seconds = Double(nanoseconds) / 1e9
        return latencyBounds.firstIndex { seconds <= $0 } ?? latencyBounds.count
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func exposition(openConnections: Int, ringGeneration: UInt64) -> String {
        var out = ""
        out += "# HELP portal_links_requests_total Calls answered, by method and status.\n# TYPE portal_links_requests_total counter\n"
        for slot in 0...Self.methods.count {
            for status in 0..<Self.statusCount {
                let value = requests[slot * Self.statusCount + status]
                guard value > 0 else { continue }
                out += "portal_links_requests_total{method=\"\(Self.methodName(slot))\",status=\"\(StatusCode(rawValue: UInt16(status)))\"} \(value)\n"
            }
        }
        out += "# HELP portal_links_verify_results_total Links.Verify answers, by result.\n# TYPE portal_links_verify_results_total counter\n"
        for slot in 0..<Self.reasonSlots {
            let name = slot == 0 ? "valid" : (VerifyReason(wireValue: slot)?.rawValue ?? "unknown")
            out += "portal_links_verify_results_total{result=\"\(name)\"} \(verifyResults[slot])\n"
        }
        out += "# HELP portal_links_request_duration_seconds Time from reading a call to writing its answer.\n# TYPE portal_links_request_duration_seconds histogram\n"
        let bucketCount = Self.latencyBounds.count + 1
        for slot in 0...Self.methods.count {
            var cumulative = 0
            for bucket in 0..<bucketCount { cumulative += latencyBuckets[slot * bucketCount + bucket] }
            guard cumulative > 0 else { continue }
            let method = Self.methodName(slot)
            var running = 0
            for bucket in 0..<bucketCount {
                running += latencyBuckets[slot * bucketCount + bucket]
                let bound = bucket < Self.latencyBounds.count ? "\(Self.latencyBounds[bucket])" : "+Inf"
                out += "portal_links_request_duration_seconds_bucket{method=\"\(method)\",le=\"\(bound)\"} \(running)\n"
            }
            out += "portal_links_request_duration_seconds_sum{method=\"\(method)\"} \(Double(latencyNanoseconds[slot]) / 1e9)\n"
            out += "portal_links_request_duration_seconds_count{method=\"\(method)\"} \(running)\n"
        }
        out += "# HELP portal_links_open_connections Connections open now.\n# TYPE portal_links_open_connections gauge\n"
        out += "portal_links_open_connections \(openConnections)\n"
        out += "# HELP portal_links_key_ring_generation Generation of the key ring and revocations in force.\n# TYPE portal_links_key_ring_generation gauge\n"
        out += "portal_links_key_ring_generation \(ringGeneration)\n"
        return out
    }

    static func methodName(_ slot: Int) -> String { slot < methods.count ? methods[slot].description : "other" }
}

/// One connection's counts since its answers were last written. Lives on the connection's event loop. Kept
/// as a short list of (counter, count) pairs rather than a dense table, so that an idle connection holds a
/// few bytes of counters whatever the number of methods; a batch rarely touches more than two counters.
struct MetricsBatch {
    private struct Count {
        var index: Int32
        var count: Int32
    }

    /// Indices into `ServerMetrics.requests` (method slot × status).
    private var requests: [Count] = []
    /// Indices into `ServerMetrics.verifyResults`.
    private var verifyResults: [Count] = []

    var hasPending: Bool { !requests.isEmpty }

    mutating func record(method: UInt16, status: StatusCode) {
        let slot = ServerMetrics.methodSlot(method)
        Self.add(slot * ServerMetrics.statusCount + min(Int(status.rawValue), ServerMetrics.statusCount - 1), to: &requests)
    }

    mutating func recordVerify(_ reason: VerifyReason?) {
        Self.add(reason?.wireValue ?? 0, to: &verifyResults)
    }

    private static func add(_ index: Int, to counts: inout [Count]) {
        for position in counts.indices where counts[position].index == Int32(index) {
            counts[position].count += 1
            return
        }
        counts.append(Count(index: Int32(index), count: 1))
    }

    /// Adds what was counted to `metrics`, every answered call taking `latency`, and starts again from zero.
    mutating func flush(into metrics: ServerMetrics, latency: TimeAmount) {
        guard hasPending else { return }
        let bucket = ServerMetrics.bucket(nanoseconds: latency.nanoseconds)
        for entry in requests {
            let calls = Int(entry.count)
            let slot = Int(entry.index) / ServerMetrics.statusCount
            metrics.requests.add(calls, at: Int(entry.index))
            metrics.latencyBuckets.add(calls, at: slot * (ServerMetrics.latencyBounds.count + 1) + bucket)
            metrics.latencyNanoseconds.add(calls * Int(latency.nanoseconds), at: slot)
        }
        for entry in verifyResults { metrics.verifyResults.add(Int(entry.count), at: Int(entry.index)) }
        requests.removeAll(keepingCapacity: true)
        verifyResults.removeAll(keepingCapacity: true)
    }
}

/// A fixed number of atomic integers.
final class AtomicArray: Sendable {
    nonisolated(unsafe) private let values: UnsafeMutablePointer<Atomic<Int>>
    let count: Int

    init(count: Int) {
        self.count = count
        values = .allocate(capacity: count)
        for index in 0..<count { (values + index).initialize(to: Atomic(0)) }
    }

    deinit {
        values.deinitialize(count: count)
        values.deallocate()
    }

    subscript(index: Int) -> Int { values[index].load(ordering: .relaxed) }

    func add(_ amount: Int, at index: Int) {
        precondition(index >= 0 && index < count)
        values[index].add(amount, ordering: .relaxed)
    }
}
