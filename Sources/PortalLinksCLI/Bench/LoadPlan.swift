import NIOCore
import PortalLinksMessages
import PortalLinksWire

/// What `bench --connect` sends: the token mix, pre-encoded, and how hard to push.
struct LoadPlan: Sendable {
    var host: String
    var port: Int
    var apiKey: String
    var connections: Int
    /// Calls in flight per connection (closed loop), or at most in flight (open loop).
    var depth: Int
    /// Stop after this many measured calls, or after `duration`.
    var requests: Int?
    var duration: Duration?
    /// Open loop: calls per second in total, sent on a fixed schedule whatever the answers do.
    var rate: Double?
    /// Closed loop in batches, the way redis-benchmark -P loads a server: `depth` calls written together,
    /// the next batch once all their answers are in, written on the event loop's next turn, each call timed
    /// from its batch's write. Otherwise each answer's slot is refilled at once and timed from that moment.
    var batches = false
    var warmup: Duration
    /// The method loaded: Links.Verify, or Sessions.Verify.
    var method: MethodID = .linksVerify
    /// The method's request payloads, in mix order; cycled.
    var payloads: [[UInt8]]
    /// Each payload's kind, an index into `kinds`.
    var payloadKinds: [Int] = []
    /// The mix's kinds (valid, expired, ...), for counting what was sent.
    var kinds: [String] = []

    /// Sessions.Verify requests, one per session token, all of one kind.
    static func sessionPayloads(_ tokens: [String]) -> [[UInt8]] {
        tokens.map { token in
            var request = PortalLinks_V1_SessionVerifyRequest()
            request.token = token
            return try! request.serializedBytes()
        }
    }

    /// Builds payloads in proportion to `mix` from the prepared tokens, interleaved, each with its kind.
    static func payloads(mix: [(String, Int)], tokens: [String: [String]]) -> (payloads: [[UInt8]], kinds: [Int]) {
        var pool: [(kind: Int, payload: [UInt8])] = []
        for (kindIndex, (kind, share)) in mix.enumerated() {
            let source = tokens[kind]!
            for index in 0..<(share * 10) {
                var request = PortalLinks_V1_VerifyRequest()
                request.token = source[index % source.count]
                pool.append((kindIndex, try! request.serializedBytes()))
            }
        }
        // A fixed shuffle, so that kinds interleave and every run sends the same sequence.
        var generator = SplitMix64(seed: 42)
        pool.shuffle(using: &generator)
        return (pool.map(\.payload), pool.map(\.kind))
    }
}

/// A small deterministic generator for the fixed shuffle.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
