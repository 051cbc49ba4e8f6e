import ArgumentParser
import Foundation
import PortalLinksCore

#if canImport(Glibc)
import Glibc
#endif

/// The in-process measurements. The rounds of all measurements are interleaved (one round of each in turn,
/// after a warm-up round of each), so that interference from other work on the machine spreads over every
/// figure instead of skewing one; each figure is the median of its rounds.
struct CoreBenchmark {
    let iterations: Int
    static let rounds = 7
    static let now: Int64 = 1_800_000_000
    static let tokenCount = 1_024

    func run() -> [(key: String, value: Any)] {
        let single = Self.ring(keyCount: 1)
        let singleTokens = Self.tokens(signedWith: single.signing)
        let large = Self.ring(keyCount: 10_000)
        let largeTokens = Self.tokens(signedWith: large.signing)

        let before = Self.residentBytes()
        var revoked = RevokedLinks()
        var generator = SystemRandomNumberGenerator()
        while revoked.count < 1_000_000 { revoked.insert(LinkID(rawValue: generator.next())) }
        let bytesPerRevoked = Double(Self.residentBytes() - before) / Double(revoked.count)

        let plain = LinkVerifier(keys: single.keys)
        let withRevocations = LinkVerifier(keys: single.keys, revocations: Revocations(links: revoked))
        let withManyKeys = LinkVerifier(keys: large.keys)
        let measurements: [(String, () -> Double)] = [
            ("verify_ns", { timeVerify(plain, tokens: singleTokens) }),
            ("verify_string_ns", { timeVerifyStrings(plain, tokens: singleTokens) }),
            ("issue_ns", { timeIssue(key: single.signing[0]) }),
            ("verify_ns_10k_keys", { timeVerify(withManyKeys, tokens: largeTokens) }),
            ("verify_ns_1m_revoked", { timeVerify(withRevocations, tokens: singleTokens) }),
            ("hmac_ns", { timeHMAC(key: single.signing[0].1, token: singleTokens[0]) }),
        ]
        var samples = Array(repeating: [Double](), count: measurements.count)
        for round in 0...Self.rounds {
            for (index, (_, measure)) in measurements.enumerated() {
                let sample = measure()
                if round > 0 { samples[index].append(sample) }
            }
        }
        var report: [(key: String, value: Any)] = zip(measurements, samples).map { measurement, samples in
            (measurement.0, Self.rounded(samples.sorted()[samples.count / 2]))
        }
        report.append(("bytes_per_revoked_link", Self.rounded(bytesPerRevoked)))
        let hashMilliseconds = Self.timePasswordHash()
        report.append(("password_hash_ms", Self.rounded(hashMilliseconds)))
        report.append(("sign_ins_per_second_per_core", Self.rounded(1_000 / hashMilliseconds)))
        report.append(("iterations", iterations))
        report.append(("rounds", Self.rounds))
        return report
    }

    static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    /// One Argon2id hash with the standard parameters (19 MiB, 2 iterations, 1 lane), the work of every
    /// sign-in, registration and reset: the median of 15, in milliseconds.
    static func timePasswordHash() -> Double {
        var samples: [Double] = []
        for index in 0..<16 {
            let start = ContinuousClock.now
            let hash = PasswordHasher.standard.hash("benchmark passphrase \(index)")
            let took = ContinuousClock.now - start
            precondition(PasswordHasher.verify("benchmark passphrase \(index)", against: hash))
            if index > 0 { samples.append(Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1_000) }
        }
        return samples.sorted()[samples.count / 2]
    }

    /// A verifier's keys, and up to 16 of them (with their IDs) to sign with.
    static func ring(keyCount: Int) -> (keys: [KeyID: LinkVerifier.Key], signing: [(KeyID, HMACKey)]) {
        var keys: [KeyID: LinkVerifier.Key] = [:]
        var signing: [(KeyID, HMACKey)] = []
        while keys.count < keyCount {
            let id = KeyID.random()
            guard keys[id] == nil else { continue }
            let hmac = HMACKey(secret: SecureRandom.bytes(32), purpose: .link)
            keys[id] = LinkVerifier.Key(state: keys.isEmpty ? .primary : .retiring, verifiesUntil: now + 86_400 * 365, hmac: hmac)
            if signing.count < 16 { signing.append((id, hmac)) }
        }
        return (keys, signing)
    }

    /// Valid links for UUID clients with no display name: the common case, 64 characters each.
    static func tokens(signedWith signing: [(KeyID, HMACKey)]) -> [String] {
        (0..<tokenCount).map { index in
            let (id, key) = signing[index % signing.count]
            var generator = SystemRandomNumberGenerator()
            let claims = try! LinkClaims(keyID: id, issuedAt: now - 3_600, expiresAt: now + 90 * 86_400,
                                         clientID: .uuid(UUIDBytes(high: generator.next(), low: generator.next())))
            return LinkToken.sign(claims, with: key).token
        }
    }

    /// One round: verifies tokens held as UTF-8 bytes with the borrowing call, the way the service answers a
    /// request frame.
    func timeVerify(_ verifier: LinkVerifier, tokens: [String]) -> Double {
        let width = tokens[0].utf8.count
        let bytes = tokens.flatMap { Array($0.utf8) }
        precondition(bytes.count == width * tokens.count)
        return bytes.withUnsafeBufferPointer { bytes in
            var valid = 0
            let start = Self.nanoseconds()
            for index in 0..<iterations {
                let offset = (index & (Self.tokenCount - 1)) * width
                verifier.withVerification(utf8: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + width)]), at: Self.now) {
                    if $0.isValid { valid += 1 }
                }
            }
            let elapsed = Self.nanoseconds() - start
            precondition(valid == iterations, "the benchmark's tokens must all verify")
            return Double(elapsed) / Double(iterations)
        }
    }

    /// One round: verifies tokens held as Swift strings, as the CLI and library callers do.
    func timeVerifyStrings(_ verifier: LinkVerifier, tokens: [String]) -> Double {
        var valid = 0
        let start = Self.nanoseconds()
        for index in 0..<iterations where verifier.verify(tokens[index & (Self.tokenCount - 1)], at: Self.now).isValid {
            valid += 1
        }
        let elapsed = Self.nanoseconds() - start
        precondition(valid == iterations, "the benchmark's tokens must all verify")
        return Double(elapsed) / Double(iterations)
    }

    /// One round: signs and encodes links (the store's part of issuing is not included).
    func timeIssue(key: (KeyID, HMACKey)) -> Double {
        let claims = (0..<Self.tokenCount).map { index in
            try! LinkClaims(keyID: key.0, issuedAt: Self.now, expiresAt: Self.now + 90 * 86_400,
                            clientID: .uuid(UUIDBytes(high: UInt64(index), low: 42)))
        }
        let count = max(iterations / 4, 1_000)
        var length = 0
        let start = Self.nanoseconds()
        for index in 0..<count { length &+= LinkToken.sign(claims[index & (Self.tokenCount - 1)], with: key.1).token.utf8.count }
        let elapsed = Self.nanoseconds() - start
        precondition(length == count * 64)
        return Double(elapsed) / Double(count)
    }

    /// One round of the HMAC-SHA256 check alone, on the message a verify authenticates: the floor under verify_ns.
    func timeHMAC(key: HMACKey, token: String) -> Double {
        let bytes = Base64URL.decode(token)!
        let messageCount = bytes.count - LinkToken.tagCount
        return bytes.withUnsafeBytes { bytes in
            let message = UnsafeRawBufferPointer(rebasing: bytes[..<messageCount])
            let tag = UnsafeRawBufferPointer(rebasing: bytes[messageCount...])
            var valid = 0
            let start = Self.nanoseconds()
            for _ in 0..<iterations where key.isValidTag(tag, authenticating: message) { valid += 1 }
            let elapsed = Self.nanoseconds() - start
            precondition(valid == iterations)
            return Double(elapsed) / Double(iterations)
        }
    }

    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Resident memory from /proc/self/statm, in bytes. Coarse (whole pages) but exact enough for megabytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
