/// Checks session and password-reset tokens against one snapshot of the key ring and of what ended
/// sessions, with no store lookup. Built by servers next to the link verifier, from the same keys.
public struct SessionVerifier: Sendable {
    public struct Key: Sendable {
        public let state: KeyState
        public let verifiesUntil: Int64?
        let session: HMACKey?
        let reset: HMACKey?

        public init(state: KeyState, verifiesUntil: Int64?, session: HMACKey?, reset: HMACKey?) {
            self.state = state
            self.verifiesUntil = verifiesUntil
            self.session = state.verifies ? session : nil
            self.reset = state.verifies ? reset : nil
        }
    }

    /// What ended sessions before their time, as of the snapshot.
    public struct Endings: Sendable, Equatable {
        /// Accounts whose epoch rose in the last `absoluteLimit`: sessions with a lower epoch are over. An
        /// older change needs no entry, since every session from before it is past the absolute limit.
        public var epochs: [Int64: Int64]
        /// Sessions signed out, until they would have passed the absolute limit anyway.
        public var signedOut: Set<UInt64>
        /// Disabled accounts and the accounts of disabled clients.
        public var blockedAccounts: Set<Int64>

        public init(epochs: [Int64: Int64] = [:], signedOut: Set<UInt64> = [], blockedAccounts: Set<Int64> = []) {
            self.epochs = epochs
            self.signedOut = signedOut
            self.blockedAccounts = blockedAccounts
        }

        public static let none = Endings()
    }

    public enum Refusal: String, Error, Sendable, Equatable {
        case malformed, unknownKey = "unknown_key", keyDisabled = "key_disabled", badSignature = "bad_signature"
        case expired, ended
    }

    public static let defaultAbsoluteLimit: Int64 = 12 * 3_600

    private let keys: [KeyID: Key]
    public let endings: Endings
    public let absoluteLimit: Int64
    public let leeway: Int64

    public init(keys: [KeyID: Key], endings: Endings = .none, absoluteLimit: Int64 = defaultAbsoluteLimit,
                leeway: Int64 = LinkVerifier.defaultLeeway) {
        self.keys = keys
        self.endings = endings
        self.absoluteLimit = absoluteLimit
        self.leeway = leeway
    }

    /// The claims of a session token that is in force at `now`, or why it is not.
    public func verifySession(_ token: String, at now: Int64) -> Result<SessionClaims, Refusal> {
        guard let (claims, message, tag) = SessionClaims.open(token) else { return .failure(.malformed) }
        if let refusal = check(tag, of: message, keyID: claims.keyID, at: now, using: \.session) { return .failure(refusal) }
        guard now <= claims.expiresAt + leeway, now <= claims.signedInAt + absoluteLimit + leeway else {
            return .failure(.expired)
        }
        guard claims.epoch >= (endings.epochs[claims.accountID] ?? 0), !endings.signedOut.contains(claims.sessionID),
              !endings.blockedAccounts.contains(claims.accountID) else { return .failure(.ended) }
        return .success(claims)
    }

    /// The claims of a reset token whose signature and lifetime hold at `now`. Whether it is still unused
    /// (its epoch is the account's) is for the store to say.
    public func verifyReset(_ token: String, at now: Int64) -> Result<PasswordResetClaims, Refusal> {
        guard let (claims, message, tag) = PasswordResetClaims.open(token) else { return .failure(.malformed) }
        if let refusal = check(tag, of: message, keyID: claims.keyID, at: now, using: \.reset) { return .failure(refusal) }
        guard now <= claims.expiresAt + leeway else { return .failure(.expired) }
        return .success(claims)
    }

    private func check(_ tag: [UInt8], of message: [UInt8], keyID: KeyID, at now: Int64,
                       using purpose: KeyPath<Key, HMACKey?>) -> Refusal? {
        guard let key = keys[keyID] else { return .unknownKey }
        let state = KeyRing.effectiveState(key.state, verifiesUntil: key.verifiesUntil, at: now, leeway: leeway)
        guard state.verifies, let hmac = key[keyPath: purpose] else { return .keyDisabled }
        let valid = message.withUnsafeBytes { message in tag.withUnsafeBytes { hmac.isValidTag($0, authenticating: message) } }
        return valid ? nil : .badSignature
    }
}
