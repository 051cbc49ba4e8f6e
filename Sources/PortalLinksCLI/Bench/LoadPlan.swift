import NIOCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// What `bench --connect` and `bench --http` send: the token mix, the door it goes through, and how hard to push.
struct LoadPlan: Sendable {
    var host: String
    var port: Int
    var apiKey: String
    /// The door loaded: the binary protocol, or the HTTP gateway.
    var door: Door = .binary

    enum Door: Sendable, Equatable {
        case binary
        /// `method` as Connect JSON: `POST /portal_links.v1.Links/Verify`.
        case connect
        /// Forward auth at this path, `/auth/link` or `/auth/session`, as a reverse proxy asks it.
        case forwardAuth(path: String)
    }

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
    /// The tokens sent, in mix order; cycled.
    var tokens: [String]
    /// Each token's kind, an index into `kinds`.
    var tokenKinds: [Int] = []
    /// The mix's kinds (valid, expired, ...), for counting what was sent.
    var kinds: [String] = []

    /// The binary protocol's request payloads, one per token.
    var payloads: [[UInt8]] { tokens.map { request(carrying: $0) } }

    /// The request of `method` that carries `token`: protobuf, or proto3 JSON (Connect's JSON codec).
    func request(carrying token: String, json: Bool = false) -> [UInt8] {
        func encoded(_ message: some SwiftProtobuf.Message) -> [UInt8] {
            json ? try! message.jsonUTF8Bytes() : try! message.serializedBytes()
        }
        switch method {
        case .sessionsVerify:
            var request = PortalLinks_V1_SessionVerifyRequest()
            request.token = token
            return encoded(request)
        default:
            var request = PortalLinks_V1_VerifyRequest()
            request.token = token
            return encoded(request)
        }
    }

    /// What was loaded, as the report names it: `HOST:PORT`, or the gateway's URL.
    var targetName: String {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        switch door {
        case .binary: return authority
        case .connect: return "http://\(authority)"
        case .forwardAuth(let path): return "http://\(authority)\(path)"
        }
    }

    /// What the run is called in its report: the method, and for forward auth the path.
    var methodName: String {
        if case .forwardAuth(let path) = door { return "forward auth \(path)" }
        return method.description
    }

    /// Tokens in proportion to `mix` from the prepared ones, interleaved, each with its kind.
    static func tokens(mix: [(String, Int)], from prepared: [String: [String]]) -> (tokens: [String], kinds: [Int]) {
        var pool: [(kind: Int, token: String)] = []
        for (kindIndex, (kind, share)) in mix.enumerated() {
            let source = prepared[kind]!
            for index in 0..<(share * 10) { pool.append((kindIndex, source[index % source.count])) }
        }
        // A fixed shuffle, so that kinds interleave and every run sends the same sequence.
        var generator = SplitMix64(seed: 42)
        pool.shuffle(using: &generator)
        return (pool.map(\.token), pool.map(\.kind))
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
