import CArgon2

/// Argon2id password hashes in the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), from
/// libargon2. One hash costs `memoryKiB` of memory and tens of milliseconds of one core, by design: callers
/// run it off latency-sensitive threads and bound how many run at once.
public struct PasswordHasher: Sendable, Equatable {
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    /// OWASP's Argon2id baseline: 19 MiB, 2 iterations, 1 lane.
    public static let standard = PasswordHasher(memoryKiB: 19 * 1_024, iterations: 2, parallelism: 1)

    static let saltBytes = 16
    static let hashBytes = 32

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// A new PHC string for `password`, with a fresh random salt.
    public func hash(_ password: String) -> String {
        let salt = SecureRandom.bytes(Self.saltBytes)
        let length = argon2_encodedlen(iterations, memoryKiB, parallelism, UInt32(Self.saltBytes), UInt32(Self.hashBytes), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        var utf8 = Array(password.utf8)
        defer { SecureRandom.wipe(&utf8) }
        let status = argon2id_hash_encoded(iterations, memoryKiB, parallelism, utf8, utf8.count, salt, salt.count,
                                           Self.hashBytes, &encoded, length)
        precondition(status == ARGON2_OK.rawValue, "argon2id failed: \(String(cString: argon2_error_message(status)))")
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `password` matches the PHC string `encoded` (whatever parameters it was made with). A
    /// malformed string matches nothing.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        var utf8 = Array(password.utf8)
        defer { SecureRandom.wipe(&utf8) }
        return argon2id_verify(encoded, utf8, utf8.count) == ARGON2_OK.rawValue
    }

    /// Whether `encoded` was made with other parameters than these, so that a sign-in should store a new hash.
    public func needsRehash(_ encoded: String) -> Bool {
        encoded.split(separator: "$").dropFirst(2).first != "m=\(memoryKiB),t=\(iterations),p=\(parallelism)"[...]
            || !encoded.hasPrefix("$argon2id$v=19$")
    }
}
