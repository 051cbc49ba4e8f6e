/// Checks links against one immutable snapshot of the key ring and the revocations.
///
/// Synchronous and allocation-free for UUID clients and for text fields of up to 15 bytes (Swift keeps such
/// strings inline). A server swaps in a new verifier when the ring's generation changes.
public struct LinkVerifier: Sendable {
    /// What a verifier knows of one key.
    public struct Key: Sendable {
        public let state: KeyState
        /// For a retiring key: the time after which it no longer verifies (before leeway).
        public let verifiesUntil: Int64?
        /// Present for states that verify.
        let hmac: HMACKey?

        public init(state: KeyState, verifiesUntil: Int64?, hmac: HMACKey?) {
            self.state = state
            self.verifiesUntil = verifiesUntil
            self.hmac = state.verifies ? hmac : nil
        }
    }

    public static let defaultLeeway: Int64 = 60

    public let keys: [KeyID: Key]
    public let revocations: Revocations
    /// Seconds of clock difference tolerated on both sides of a link's lifetime.
    public let leeway: Int64
    /// The ring generation this snapshot was built from.
    public let generation: UInt64

    public init(keys: [KeyID: Key], revocations: Revocations = .none, leeway: Int64 = defaultLeeway, generation: UInt64 = 0) {
        self.keys = keys
        self.revocations = revocations
        self.leeway = leeway
        self.generation = generation
    }

    /// The state `key` is in at `now`, counting a retiring key whose window has passed as expired.
    public func effectiveState(of key: Key, at now: Int64) -> KeyState {
        KeyRing.effectiveState(key.state, verifiesUntil: key.verifiesUntil, at: now, leeway: leeway)
    }

    /// Checks `token` at `now` (Unix seconds). The checks run in a fixed order and the first failure is the reason.
    public func verify(_ token: String, at now: Int64) -> LinkVerification {
        var token = token
        return token.withUTF8 { verify(utf8: $0, at: now) }
    }

    public func verify(utf8 token: UnsafeBufferPointer<UInt8>, at now: Int64) -> LinkVerification {
        guard token.count <= LinkToken.maximumCharacters,
              let decodedCount = Base64URL.decodedCount(ofCharacterCount: token.count)
        else { return .refused(.malformed) }
        return withUnsafeTemporaryAllocation(byteCount: LinkToken.maximumBytes, alignment: 8) { buffer in
            guard let count = Base64URL.decode(token, into: buffer), count == decodedCount else {
                return .refused(.malformed)
            }
            return verify(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<count]), at: now)
        }
    }

    private func verify(bytes: UnsafeRawBufferPointer, at now: Int64) -> LinkVerification {
        guard bytes.count >= 1 else { return .refused(.malformed) }
        guard bytes[0] == LinkToken.version else { return .refused(.unsupportedVersion) }
        guard bytes.count >= LinkToken.minimumCount else { return .refused(.malformed) }

        let keyID = KeyID(rawValue: LinkToken.readUInt32(bytes, at: 1))
        // The key named in the token, and only that one: never a fallback, never a search.
        guard let key = keys[keyID] else { return .refused(.unknownKey) }
        switch effectiveState(of: key, at: now) {
        case .staged, .primary, .retiring: break
        case .disabled, .destroyed: return .refused(.keyDisabled)
        case .expired: return .refused(.keyExpired)
        }
        guard let hmac = key.hmac else { return .refused(.keyDisabled) }

        let messageCount = bytes.count - LinkToken.tagCount
        let message = UnsafeRawBufferPointer(rebasing: bytes[..<messageCount])
        let tag = UnsafeRawBufferPointer(rebasing: bytes[messageCount...])
        guard hmac.isValidTag(tag, authenticating: message) else { return .refused(.badSignature) }

        let linkID = LinkToken.linkIDFromTag(tag)
        guard let claims = LinkToken.parseFields(message) else { return .refused(.malformed) }
        let reason: VerifyReason? =
            if now < claims.issuedAt - leeway { .notYetValid }
            else if now > claims.expiresAt + leeway { .expired }
            else { revocations.reason(for: claims, linkID: linkID) }
        return LinkVerification(reason: reason, claims: claims, linkID: linkID)
    }
}
