/// Checks links against one immutable snapshot of the key ring and the revocations.
///
/// Synchronous; `withVerification` allocates nothing for any link whose client ID is in NFC (every link signed
/// by this release), while `verify` builds strings for text fields longer than 15 bytes (shorter ones Swift
/// keeps inline). A server swaps in a new verifier when the
/// ring's generation changes.
public struct LinkVerifier: Sendable {
    /// What a verifier knows of one key.
    public struct Key: Sendable {
        public let state: KeyState
        /// For a retiring key: the time after which it no longer verifies (before leeway).
        public let verifiesUntil: Int64?
        /// Present for states that verify. A verifying state without it is treated as disabled.
        let hmac: HMACKey?

        public init(state: KeyState, verifiesUntil: Int64?, hmac: HMACKey?) {
            self.state = state
            self.verifiesUntil = verifiesUntil
            self.hmac = state.verifies ? hmac : nil
        }
    }

    public static let defaultLeeway: Int64 = 60

    private let table: KeyTable
    public let revocations: Revocations
    private let clients: ClientTable
    /// Seconds of clock difference tolerated on both sides of a link's lifetime.
    public let leeway: Int64
    /// The ring generation this snapshot was built from.
    public let generation: UInt64

    public init(keys: [KeyID: Key], revocations: Revocations = .none, leeway: Int64 = defaultLeeway, generation: UInt64 = 0) {
        self.table = KeyTable(keys)
        self.revocations = revocations
        self.clients = ClientTable(revocations)
        self.leeway = leeway
        self.generation = generation
    }

    /// How many keys the snapshot holds, in any state.
    public var keyCount: Int { table.count }

    /// The state key `id` is in at `now`, counting a retiring key whose window has passed as expired;
    /// nil when the snapshot has no such key.
    public func keyState(_ id: KeyID, at now: Int64) -> KeyState? {
        table.entry(for: id).map { effectiveState(entry: $0, at: now) }
    }

    @inline(__always)
    private func effectiveState(entry: Int, at now: Int64) -> KeyState {
        let until = table.verifiesUntil[entry]
        return KeyRing.effectiveState(table.states[entry], verifiesUntil: until == .max ? nil : until, at: now, leeway: leeway)
    }

    /// Checks `token` at `now` (Unix seconds). The checks run in a fixed order and the first failure is the reason.
    public func verify(_ token: String, at now: Int64) -> LinkVerification {
        // Native strings are contiguous UTF-8 already; only bridged ones need the copy.
        if let result = token.utf8.withContiguousStorageIfAvailable({ verify(utf8: $0, at: now) }) { return result }
        return Array(token.utf8).withUnsafeBufferPointer { verify(utf8: $0, at: now) }
    }

    public func verify(utf8 token: UnsafeBufferPointer<UInt8>, at now: Int64) -> LinkVerification {
        var result: LinkVerification?
        withVerification(utf8: token, at: now) { result = $0.owned }
        return result!
    }

    /// Checks `token` at `now` and hands `body` the outcome with its text still in the decoded token: what
    /// the service answers from, allocating nothing. The borrowed claims are valid only inside `body`.
    public func withVerification(utf8 token: UnsafeBufferPointer<UInt8>, at now: Int64,
                                 _ body: (BorrowedLinkVerification) -> Void) {
        guard token.count <= LinkToken.maximumCharacters,
              let decodedCount = Base64URL.decodedCount(ofCharacterCount: token.count)
        else { return body(.refused(.malformed)) }
        withUnsafeTemporaryAllocation(byteCount: LinkToken.maximumBytes, alignment: 8) { buffer in
            guard let count = Base64URL.decode(token, into: buffer), count == decodedCount else {
                return body(.refused(.malformed))
            }
            let outcome = verify(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<count]), at: now)
            if case .text(let client)? = outcome.claims?.clientID, !CanonicalText.isNFC(utf8: client) {
                return withClientInNFC(outcome, client: client, at: now, body)
            }
            body(outcome)
        }
    }

    /// A link signed before client IDs were kept in NFC may spell its client otherwise: it answers, and is
    /// revoked or disabled, as the one client of that spelling. Only such links pay for building a string; the
    /// hot path keeps none of this code.
    @inline(never)
    private func withClientInNFC(_ outcome: BorrowedLinkVerification, client: UnsafeRawBufferPointer, at now: Int64,
                                 _ body: (BorrowedLinkVerification) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: CanonicalText.maximumNFCBytes(of: ClientID.maximumTextBytes), alignment: 1) { scratch in
            guard let count = CanonicalText.writeNFC(of: client, into: scratch) else { return body(.refused(.malformed)) }
            body(respelled(outcome, client: UnsafeRawBufferPointer(rebasing: scratch[..<count]), at: now))
        }
    }

    /// `outcome` with its client ID in NFC, its revocation checks made again under that spelling.
    private func respelled(_ outcome: BorrowedLinkVerification, client: UnsafeRawBufferPointer,
                           at now: Int64) -> BorrowedLinkVerification {
        guard let claims = outcome.claims?.with(clientID: .text(client)), let linkID = outcome.linkID else { return outcome }
        let reason: VerifyReason? =
            if outcome.reason == nil || outcome.reason == .clientRevoked || outcome.reason == .clientDisabled {
                revocationReason(linkID: linkID, clientID: claims.clientID, issuedAt: claims.issuedAt)
            } else { outcome.reason }
        return BorrowedLinkVerification(reason: reason, claims: claims, linkID: linkID)
    }

    @inline(__always)
    private func verify(bytes: UnsafeRawBufferPointer, at now: Int64) -> BorrowedLinkVerification {
        guard bytes.count >= 1 else { return .refused(.malformed) }
        guard bytes[0] == LinkToken.version else { return .refused(.unsupportedVersion) }
        guard bytes.count >= LinkToken.minimumCount else { return .refused(.malformed) }

        let keyID = KeyID(rawValue: LinkToken.readUInt32(bytes, at: 1))
        // The key named in the token, and only that one: never a fallback, never a search.
        guard let entry = table.entry(for: keyID) else { return .refused(.unknownKey) }
        switch effectiveState(entry: entry, at: now) {
        case .staged, .primary, .retiring: break
        case .disabled, .destroyed: return .refused(.keyDisabled)
        case .expired: return .refused(.keyExpired)
        }

        let messageCount = bytes.count - LinkToken.tagCount
        let message = UnsafeRawBufferPointer(rebasing: bytes[..<messageCount])
        let tag = UnsafeRawBufferPointer(rebasing: bytes[messageCount...])
        guard table.isValidTag(tag, authenticating: message, entry: entry) else { return .refused(.badSignature) }

        let linkID = LinkToken.linkIDFromTag(tag)
        guard let claims = LinkToken.parseFields(message) else { return .refused(.malformed) }
        let reason: VerifyReason? =
            if now < claims.issuedAt - leeway { .notYetValid }
            else if now > claims.expiresAt + leeway { .expired }
            else { revocationReason(linkID: linkID, clientID: claims.clientID, issuedAt: claims.issuedAt) }
        return BorrowedLinkVerification(reason: reason, claims: claims, linkID: linkID)
    }

    @inline(__always)
    private func revocationReason(linkID: LinkID, clientID: BorrowedClientID, issuedAt: Int64) -> VerifyReason? {
        if !revocations.links.isEmpty, revocations.links.contains(linkID) { return .linkRevoked }
        guard !clients.isEmpty, let client = clients.entry(for: clientID) else { return nil }
        if let before = client.revokedBefore, issuedAt < before { return .clientRevoked }
        return client.disabled ? .clientDisabled : nil
    }
}
