import CPortalLinks

/// An HMAC-SHA256 key bound to one purpose label, with its pad states computed once.
///
/// Tags are computed over `label || message`, so a key used for links can never produce a tag that another
/// purpose would accept. Signing and checking a short message costs two SHA-256 compressions and no allocation.
public final class HMACKey: Sendable {
    // Written once in init, then only read; freed (after zeroing) in deinit.
    nonisolated(unsafe) private let state: UnsafeMutablePointer<pl_hmac_key>

    /// The caller owns `secret` and wipes it when done; only the derived pad states are kept, zeroed on deinit.
    /// - Precondition: `secret` is at least 16 bytes; shorter keys are a programming error, not bad input.
    public init(secret: some Collection<UInt8>, purpose: Purpose) {
        state = .allocate(capacity: 1)
        let label = Array(purpose.label.utf8)
        let state = self.state
        func initialise(_ secret: UnsafeBufferPointer<UInt8>) -> Int32 {
            precondition(secret.count >= 16, "HMAC keys must be at least 16 bytes")
            return label.withUnsafeBufferPointer { label in
                pl_hmac_key_init(state, secret.baseAddress, secret.count, label.baseAddress, label.count)
            }
        }
        let ok = secret.withContiguousStorageIfAvailable(initialise) ?? {
            var copy = Array(secret)
            defer { SecureRandom.wipe(&copy) }
            return copy.withUnsafeBufferPointer(initialise)
        }()
        precondition(ok == 1, "libcrypto failed to initialise SHA-256")
    }

    deinit {
        pl_hmac_key_clear(state)
        state.deallocate()
    }

    /// Copies the precomputed state, for tables that keep many keys in one block.
    func copyState(to destination: UnsafeMutablePointer<pl_hmac_key>) {
        destination.update(from: state, count: 1)
    }

    /// The full 32-byte HMAC of `label || message`.
    public func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { pl_hmac_sign(state, message.baseAddress, message.count, $0.baseAddress) }
        return out
    }

    /// Writes the first `output.count` (at most 32) bytes of the HMAC of `label || message` to `output`.
    public func writeTag(for message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count <= 32)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { full in
            pl_hmac_sign(state, message.baseAddress, message.count, full.baseAddress!)
            output.copyMemory(from: UnsafeRawBufferPointer(start: full.baseAddress, count: output.count))
            pl_cleanse(full.baseAddress, 32)
        }
    }

    /// Whether `tag` equals the leading bytes of the HMAC of `label || message`, compared in constant time.
    public func isValidTag(_ tag: UnsafeRawBufferPointer, authenticating message: UnsafeRawBufferPointer) -> Bool {
        pl_hmac_verify(state, message.baseAddress, message.count,
                       tag.baseAddress?.assumingMemoryBound(to: UInt8.self), tag.count) == 1
    }
}
