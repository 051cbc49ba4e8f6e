import PortalLinksCore

/// Accounts, their sign-in state and the activity log. Every change is one transaction; changes that end
/// sessions bump the ring generation, so that running servers reload what ended within a second.
public protocol AccountStore: Sendable {
    /// Creates the account for `email` through `link`. Throws alreadyExists when the email has an account
    /// (two registrations at once create one), conflict when the link's account cap is reached.
    func createAccount(email: EmailAddress, clientID: ClientID, displayName: String?, passwordHash: String, link: LinkID,
                       caller: String, at now: Int64) async throws -> AccountRecord

    func account(email: EmailAddress) async throws -> AccountRecord?

    func account(id: Int64) async throws -> AccountRecord?

    /// Accounts, by email, optionally of one client or registered through one link.
    func accounts(client: ClientID?, link: LinkID?) async throws -> [AccountRecord]

    /// Records a checked sign-in attempt atomically: a success (storing `rehash` when given) only while the
    /// account is neither locked nor disabled and its client is not disabled; a failure counts towards the lock unless the account is
    /// locked already (failures while locked never extend the lock).
    func recordSignIn(account id: Int64, passwordMatched: Bool, rehash: String?, lockout: LockoutPolicy,
                      caller: String, at now: Int64) async throws -> SignInRecording

    /// Sets a new password hash, raises the epoch (ending sessions and reset tokens) and clears any lockout.
    /// With `expectedEpoch`, only if the account is still at that epoch (a reset token works once); returns
    /// false when it is not.
    func setPassword(account id: Int64, hash: String, expectedEpoch: Int64?, event: String, caller: String,
                     at now: Int64) async throws -> Bool

    /// Ends one session until `keptUntil`, when it would have expired anyway.
    func signOut(session: UInt64, account id: Int64, keptUntil: Int64, caller: String, at now: Int64) async throws

    /// What ends sessions early, as of `now`: epoch changes within `window`, sign-outs still kept, and the
    /// accounts that are disabled or belong to a disabled client.
    func sessionEndings(at now: Int64, window: Int64) async throws -> SessionVerifier.Endings

    /// Staff: returns false when the account already was in that state.
    func setAccount(email: EmailAddress, disabled: Bool, actor: String, at now: Int64) async throws -> Bool
    func unlock(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool
    func removeAccount(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool
    /// Moves the account to `client` and ends its sessions.
    func moveAccount(email: EmailAddress, to client: ClientID, actor: String, at now: Int64) async throws -> Bool

    func recordActivity(_ entry: ActivityEntry) async throws
    /// Activity, oldest first, optionally for one account and/or one client.
    func activity(account: EmailAddress?, client: ClientID?) async throws -> [ActivityEntry]

    /// The link's account cap, when it has one.
    func setMaximumAccounts(_ maximum: Int?, for link: LinkID) async throws
}
