import PortalLinksCore

/// One account as stored. The password hash is a PHC string and leaves the store only to be checked.
public struct AccountRecord: Sendable, Equatable {
    public var id: Int64
    public var email: EmailAddress
    public var clientID: ClientID
    public var displayName: String?
    public var passwordHash: String
    /// Raised by a password change, a reset, disabling or moving: ends sessions and reset tokens from before.
    public var epoch: Int64
    public var linkID: LinkID
    public var createdAt: Int64
    public var disabledAt: Int64?
    public var failedAttempts: Int
    public var lockedUntil: Int64?
    public var lastSignInAt: Int64?
    public var signInCount: Int

    public init(id: Int64, email: EmailAddress, clientID: ClientID, displayName: String?, passwordHash: String, epoch: Int64,
                linkID: LinkID, createdAt: Int64, disabledAt: Int64? = nil, failedAttempts: Int = 0, lockedUntil: Int64? = nil,
                lastSignInAt: Int64? = nil, signInCount: Int = 0) {
        self.id = id
        self.email = email
        self.clientID = clientID
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.epoch = epoch
        self.linkID = linkID
        self.createdAt = createdAt
        self.disabledAt = disabledAt
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.lastSignInAt = lastSignInAt
        self.signInCount = signInCount
    }

    public func isLocked(at now: Int64) -> Bool { lockedUntil.map { $0 > now } ?? false }
}

/// One entry of the account activity log: what happened to which account, for whom, with what result.
/// Never a password, token or hash.
public struct ActivityEntry: Sendable, Equatable {
    public var sequence: Int64
    public var at: Int64
    public var event: String
    public var account: String?
    public var clientID: String?
    public var caller: String
    public var result: String

    public init(sequence: Int64 = 0, at: Int64, event: String, account: String?, clientID: String?, caller: String, result: String) {
        self.sequence = sequence
        self.at = at
        self.event = event
        self.account = account
        self.clientID = clientID
        self.caller = caller
        self.result = result
    }
}

/// How failed sign-ins lock an account.
public struct LockoutPolicy: Sendable, Equatable {
    public var maximumFailures: Int
    public var lockSeconds: Int64

    public init(maximumFailures: Int = 5, lockSeconds: Int64 = 15 * 60) {
        self.maximumFailures = maximumFailures
        self.lockSeconds = lockSeconds
    }
}

/// What became of a sign-in attempt once the password was checked.
public enum SignInRecording: Sendable, Equatable {
    case signedIn(AccountRecord)
    /// Wrong password; `locked` when this failure locked the account.
    case failed(locked: Bool)
    /// Locked, disabled or its client disabled: refused without counting.
    case refused
}
