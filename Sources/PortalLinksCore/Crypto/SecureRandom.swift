import CPortalLinks

/// Randomness from the operating system's cryptographic source, through libcrypto.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { pl_random_bytes($0.baseAddress, $0.count) }
        // Without randomness no key, nonce or ID would be safe; there is nothing sensible to continue with.
        precondition(ok == 1, "the system random source failed")
        return out
    }

    public static func uint32() -> UInt32 {
        bytes(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public static func uint64() -> UInt64 {
        bytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Zeroes a buffer that held secret material.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { pl_cleanse($0.baseAddress, $0.count) }
    }
}
