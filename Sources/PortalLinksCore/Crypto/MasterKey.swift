import CPortalLinks

/// The 256-bit key that encrypts signing-key material at rest with AES-256-GCM.
///
/// Its bytes never appear in a description, an error or a log.
public struct MasterKey: Sendable, CustomStringConvertible, CustomReflectable {
    public static let byteCount = 32
    private static let nonceCount = 12
    private static let tagCount = 16

    private let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public static func generate() -> MasterKey { MasterKey(bytes: SecureRandom.bytes(byteCount))! }

    /// The key written as 64 lowercase hex digits, for the key file or the environment variable.
    public var hexEncoded: String { Hex.encode(bytes) }

    public var description: String { "MasterKey(redacted)" }

    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// `nonce || ciphertext || tag`, authenticated together with `context` (for example the key ID), so that
    /// a sealed value copied to another row does not open.
    public func seal(_ plaintext: [UInt8], context: [UInt8]) -> [UInt8] {
        let nonce = SecureRandom.bytes(Self.nonceCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: Self.tagCount)
        let ok = bytes.withUnsafeBufferPointer { key in
            pl_aes256gcm_seal(key.baseAddress, nonce, context, context.count, plaintext, plaintext.count,
                              &ciphertext, &tag)
        }
        precondition(ok == 1, "libcrypto failed to encrypt with AES-256-GCM")
        return nonce + ciphertext + tag
    }

    /// The plaintext, or nil when the box was sealed under another key or context, or was altered.
    public func open(_ box: [UInt8], context: [UInt8]) -> [UInt8]? {
        guard box.count >= Self.nonceCount + Self.tagCount else { return nil }
        let nonce = Array(box.prefix(Self.nonceCount))
        let ciphertext = Array(box.dropFirst(Self.nonceCount).dropLast(Self.tagCount))
        let tag = Array(box.suffix(Self.tagCount))
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        let result = bytes.withUnsafeBufferPointer { key in
            pl_aes256gcm_open(key.baseAddress, nonce, context, context.count, ciphertext, ciphertext.count,
                              tag, &plaintext)
        }
        return result == 1 ? plaintext : nil
    }
}
