import PortalLinksCore
import PortalLinksStore

/// Staff actions on accounts (`portal-links accounts ...`). Each is one store transaction, audited under the
/// installation's actor; those that end sessions reach running servers within a second.
extension Installation {
    /// Accounts by email, optionally of one client.
    public func accounts(client: ClientID? = nil) async throws -> [AccountRecord] {
        try await store.accounts(client: client, link: nil)
    }

    /// The account for `email`; notFound when there is none.
    public func account(email text: String) async throws -> AccountRecord {
        let email = try Self.email(text)
        guard let account = try await store.account(email: email) else {
            throw PortalLinksError(.notFound, "no account for \(email)")
        }
        return account
    }

    /// Disables (ending its sessions; sign-in refused) or re-enables an account. False when it already was.
    @discardableResult
    public func setAccount(email text: String, disabled: Bool) async throws -> Bool {
        try await store.setAccount(email: try Self.email(text), disabled: disabled, actor: actor, at: clock())
    }

    /// Clears a lockout and the failure count. False when the account was not locked.
    @discardableResult
    public func unlockAccount(email text: String) async throws -> Bool {
        try await store.unlock(email: try Self.email(text), actor: actor, at: clock())
    }

    /// Deletes the account and ends its sessions; the activity log keeps its history.
    public func removeAccount(email text: String) async throws {
        let email = try Self.email(text)
        guard try await store.removeAccount(email: email, actor: actor, at: clock()) else {
            throw PortalLinksError(.notFound, "no account for \(email)")
        }
    }

    /// Moves an account to another client (someone who joined through the wrong company's link) and ends
    /// its sessions. False when it already belongs to `client`.
    @discardableResult
    public func moveAccount(email text: String, to client: ClientID) async throws -> Bool {
        let account = try await account(email: text)
        return try await store.moveAccount(email: account.email, to: client, actor: actor, at: clock())
    }

    /// The activity log, oldest first, for one account (by email, also after it was removed) and/or client.
    public func activity(email text: String?, client: ClientID?) async throws -> [ActivityEntry] {
        try await store.activity(account: try text.map(Self.email), client: client)
    }

    /// Whether a link has been used: pending (no account yet), accepted (at least one), expired or revoked;
    /// and the accounts registered through it.
    public func invitation(_ entry: LedgerEntry, revocation: RevocationStatus) async throws -> (status: String, accounts: [AccountRecord]) {
        let accounts = try await store.accounts(client: nil, link: entry.linkID)
        let revoked = revocation.linkRevokedAt != nil || (revocation.clientRevokedBefore.map { entry.issuedAt < $0 } ?? false)
        let status = revoked ? "revoked" : clock() > entry.expiresAt ? "expired" : accounts.isEmpty ? "pending" : "accepted"
        return (status, accounts)
    }

    static func email(_ text: String) throws -> EmailAddress {
        guard let email = EmailAddress(text) else { throw PortalLinksError(.invalidInput, "'\(text)' is not an email address") }
        return email
    }
}
