import PortalLinksCore
import PortalLinksStore

/// A signed-in session: the token to hand to the browser and when it must be refreshed by.
public struct SessionGrant: Sendable {
    public let token: String
    public let claims: SessionClaims
    public let account: AccountRecord
}

/// A password-reset token for the front-end to email, and when it stops working.
public struct PasswordResetGrant: Sendable {
    public let token: String
    public let expiresAt: Int64
    /// The address on record: the one place to send the token. The address asked with may differ (case,
    /// spelling), and a mail sent there could reach another mailbox.
    public let email: String
    /// The account's client, and the link it registered through (whose display name names the portal).
    public var clientID: ClientID? = nil
    public var linkID: LinkID? = nil
}

extension Installation {
    /// One message for every refused sign-in, so that it tells nothing about which part was wrong.
    static let signInRefused = PortalLinksError(.unauthenticated, "the email or password is wrong, or the account cannot sign in")

    /// Registers through a portal link: the link is checked exactly as Verify does (with `verifier`, a
    /// server's snapshot, or one loaded now), and the account belongs to the link's client. Hashes the
    /// password through `passwordWork`.
    @discardableResult
    public func register(link token: String, email text: String, password: String, displayName: String?,
                         caller: String, verifier: LinkVerifier? = nil) async throws -> AccountRecord {
        let now = clock()
        let verification = try await linkVerifier(verifier).verify(token, at: now)
        guard verification.isValid, let claims = verification.claims, let linkID = verification.linkID else {
            let reason = verification.reason?.rawValue ?? "malformed"
            throw PortalLinksError(.conflict, "the link is not valid (\(reason))", reason: reason)
        }
        guard let email = EmailAddress(text) else { throw PortalLinksError(.invalidInput, "that is not an email address") }
        try accountPolicy.passwords.check(password)
        // The link text rules (one spelling, no control characters or bidirectional overrides), at the
        // length accounts have always allowed: staff listings print these names.
        var name: String?
        if let displayName {
            guard displayName.count <= 200, let canonical = TextField.displayName(displayName.trimmingWhiteSpace(), maximumBytes: 800) else {
                throw PortalLinksError(.invalidInput, """
                    the display name must be 1 to 200 characters without control characters, bidirectional                     overrides or surrounding spaces
                    """)
            }
            name = canonical
        }
        let hasher = accountPolicy.hasher
        let hash = try await passwordWork.run { hasher.hash(password) }
        return try await store.createAccount(email: email, clientID: claims.clientID, displayName: name,
                                             passwordHash: hash, link: linkID, caller: caller, at: now)
    }

    /// Signs in with email and password. Every refusal (unknown email, wrong password, locked, disabled,
    /// disabled client) is the same error after about the same time: unknown emails hash the password too.
    public func signIn(email text: String, password: String, caller: String) async throws -> SessionGrant {
        let now = clock()
        let hasher = accountPolicy.hasher
        guard let email = EmailAddress(text), let account = try await store.account(email: email) else {
            _ = try await passwordWork.run { hasher.hash(password) }
            try await store.recordActivity(ActivityEntry(at: now, event: "account.sign_in", account: EmailAddress(text)?.normalized,
                                                         clientID: nil, caller: caller, result: "failed unknown account"))
            throw Self.signInRefused
        }
        let stored = account.passwordHash
        let (matched, rehash) = try await passwordWork.run { () -> (Bool, String?) in
            let matched = PasswordHasher.verify(password, against: stored)
            return (matched, matched && hasher.needsRehash(stored) ? hasher.hash(password) : nil)
        }
        let recording = try await store.recordSignIn(account: account.id, passwordMatched: matched, rehash: rehash,
                                                     lockout: accountPolicy.lockout, caller: caller, at: now)
        guard case .signedIn(let current) = recording else { throw Self.signInRefused }
        let (token, claims) = try await signSession(
            SessionClaims(keyID: KeyID(rawValue: 0), accountID: current.id, clientID: current.clientID, sessionID: SecureRandom.uint64(),
                          epoch: current.epoch, signedInAt: now, expiresAt: now + accountPolicy.sessionIdle))
        return SessionGrant(token: token, claims: claims, account: current)
    }

    /// The claims of a session in force now; unauthenticated (with the reason) otherwise.
    public func verifySession(_ token: String, verifier: SessionVerifier? = nil) async throws -> SessionClaims {
        switch try await sessionVerifier(verifier).verifySession(token, at: clock()) {
        case .success(let claims): return claims
        case .failure(let refusal): throw PortalLinksError(.unauthenticated, "the session is not valid (\(refusal.rawValue))")
        }
    }

    /// A fresh token for a session in force whose account and client are still enabled: same session, a new
    /// idle deadline, never past the absolute limit.
    public func refreshSession(_ token: String, verifier: SessionVerifier? = nil) async throws -> SessionGrant {
        let now = clock()
        // The verifier refuses disabled and removed accounts, disabled clients and raised epochs as of its
        // snapshot; the account is read again so that a change since then counts too.
        let claims = try await verifySession(token, verifier: verifier)
        guard let account = try await store.account(id: claims.accountID), account.disabledAt == nil,
              account.epoch == claims.epoch, account.clientID == claims.clientID else {
            throw PortalLinksError(.unauthenticated, "the session is not valid (ended)")
        }
        var refreshed = claims
        refreshed.expiresAt = min(now + accountPolicy.sessionIdle, claims.signedInAt + accountPolicy.sessionAbsolute)
        let (newToken, signed) = try await signSession(refreshed)
        return SessionGrant(token: newToken, claims: signed, account: account)
    }

    /// Ends one session on every server. Signing out a session that is already over succeeds quietly.
    public func signOut(_ token: String, caller: String, verifier: SessionVerifier? = nil) async throws {
        let now = clock()
        guard case .success(let claims) = try await sessionVerifier(verifier).verifySession(token, at: now) else { return }
        try await store.signOut(session: claims.sessionID, account: claims.accountID,
                                keptUntil: claims.signedInAt + accountPolicy.sessionAbsolute + policy.leeway, caller: caller, at: now)
    }

    /// A reset token for the front-end to email, or nil when no account has that email (the wire answers
    /// both the same way to the user).
    public func requestPasswordReset(email text: String, caller: String) async throws -> PasswordResetGrant? {
        let now = clock()
        guard let email = EmailAddress(text), let account = try await store.account(email: email), account.disabledAt == nil else {
            try await store.recordActivity(ActivityEntry(at: now, event: "account.reset_request", account: EmailAddress(text)?.normalized,
                                                         clientID: nil, caller: caller, result: "no such account"))
            return nil
        }
        let primary = try await primaryKeyRecord()
        let claims = PasswordResetClaims(keyID: primary.id, accountID: account.id, epoch: account.epoch,
                                         expiresAt: now + accountPolicy.resetLifetime)
        guard let key = try hmacKey(for: primary, purpose: .passwordReset) else {
            throw PortalLinksError(.conflict, "the primary key \(primary.id) has no material")
        }
        try await store.recordActivity(ActivityEntry(at: now, event: "account.reset_request", account: account.email.normalized,
                                                     clientID: account.clientID.description, caller: caller, result: "ok"))
        return PasswordResetGrant(token: claims.sign(with: key), expiresAt: claims.expiresAt, email: account.email.normalized,
                                  clientID: account.clientID, linkID: account.linkID)
    }

    /// Sets a new password with a reset token: once, within its hour. Ends every session of the account and
    /// clears a lockout.
    public func resetPassword(token: String, newPassword: String, caller: String, verifier: SessionVerifier? = nil) async throws {
        let now = clock()
        let refused = PortalLinksError(.unauthenticated, "the reset token is not valid or was used already")
        guard case .success(let claims) = try await sessionVerifier(verifier).verifyReset(token, at: now),
              let account = try await store.account(id: claims.accountID), account.epoch == claims.epoch,
              account.disabledAt == nil else { throw refused }
        try accountPolicy.passwords.check(newPassword)
        let hasher = accountPolicy.hasher
        let hash = try await passwordWork.run { hasher.hash(newPassword) }
        guard try await store.setPassword(account: account.id, hash: hash, expectedEpoch: claims.epoch,
                                          event: "account.reset", caller: caller, at: now) else { throw refused }
    }

    /// `given` (a server's snapshot), or one loaded now.
    private func linkVerifier(_ given: LinkVerifier?) async throws -> LinkVerifier {
        if let given { return given }
        return try await loadVerifier()
    }

    private func sessionVerifier(_ given: SessionVerifier?) async throws -> SessionVerifier {
        if let given { return given }
        return try await loadSessionVerifier()
    }

    /// Signs `claims` with the primary key, whose ID it sets.
    private func signSession(_ claims: SessionClaims) async throws -> (String, SessionClaims) {
        let primary = try await primaryKeyRecord()
        guard let key = try hmacKey(for: primary, purpose: .session) else {
            throw PortalLinksError(.conflict, "the primary key \(primary.id) has no material")
        }
        var signed = claims
        signed.keyID = primary.id
        return (signed.sign(with: key), signed)
    }
}
