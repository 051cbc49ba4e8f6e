import PortalLinks
import PortalLinksCore
import PortalLinksMessages
import PortalLinksStore

/// The account and session methods, from their wire messages to the installation and back. They run as
/// tasks off the event loops; password hashes inside them go to the server's `HashingPool`. Tokens are
/// checked against the server's snapshot, reloaded first (as Verify does) when a token names a key the
/// snapshot does not have yet. One per server, shared by its connections.
final class AccountCalls: Sendable {
    let state: ServingState
    /// Hashes through the server's pool.
    let installation: Installation
    /// Sends reset and welcome emails, when configured.
    let mailer: AccountMailer?

    init(state: ServingState, installation: Installation, mailer: AccountMailer? = nil) {
        self.state = state
        self.installation = installation
        self.mailer = mailer
    }

    /// What the emails call the portal: the display name of the link the account came through, else its client.
    private func portalName(clientID: ClientID?, linkID: LinkID?) async -> String {
        if let linkID, let name = try? await installation.store.ledgerEntry(linkID)?.displayName { return name }
        return clientID?.description ?? "client"
    }

    func register(_ request: PortalLinks_V1_RegisterRequest, caller: String) async throws -> PortalLinks_V1_RegisterResponse {
        var verifier = state.snapshot.verifier
        if verifier.verify(request.token, at: installation.clock()).reason == .unknownKey {
            await state.reloadForUnknownKey()
            verifier = state.snapshot.verifier
        }
        let account = try await installation.register(
            link: request.token, email: request.email, password: request.password,
            displayName: request.displayName.isEmpty ? nil : request.displayName, caller: caller, verifier: verifier)
        if let mailer, mailer.sendsWelcomes {
            _ = mailer.sendWelcome(to: account.email.normalized, clientID: account.clientID.description,
                                   portal: await portalName(clientID: account.clientID, linkID: account.linkID), caller: caller)
        }
        var response = PortalLinks_V1_RegisterResponse()
        response.account = Self.message(account)
        return response
    }

    func signIn(_ request: PortalLinks_V1_SignInRequest, caller: String) async throws -> PortalLinks_V1_SignInResponse {
        let grant = try await installation.signIn(email: request.email, password: request.password, caller: caller)
        var response = PortalLinks_V1_SignInResponse()
        response.session = Self.message(grant)
        response.account = Self.message(grant.account)
        return response
    }

    func refresh(_ request: PortalLinks_V1_RefreshRequest) async throws -> PortalLinks_V1_RefreshResponse {
        let grant = try await installation.refreshSession(request.token, verifier: await sessionVerifier(for: request.token))
        var response = PortalLinks_V1_RefreshResponse()
        response.session = Self.message(grant)
        return response
    }

    func signOut(_ request: PortalLinks_V1_SignOutRequest, caller: String) async throws -> PortalLinks_V1_SignOutResponse {
        try await installation.signOut(request.token, caller: caller, verifier: await sessionVerifier(for: request.token))
        return PortalLinks_V1_SignOutResponse()
    }

    func requestPasswordReset(_ request: PortalLinks_V1_PasswordResetRequest,
                              caller: String) async throws -> PortalLinks_V1_PasswordResetResponse {
        var response = PortalLinks_V1_PasswordResetResponse()
        if let grant = try await installation.requestPasswordReset(email: request.email, caller: caller) {
            if let mailer, mailer.sendsResets {
                // The service emails the link itself: the answer carries no token, so no front-end handles one.
                guard mailer.sendReset(grant, portal: await portalName(clientID: grant.clientID, linkID: grant.linkID), caller: caller) else {
                    throw PortalLinksError(.busy, "too many emails are waiting to be sent; try again later")
                }
            } else {
                response.resetToken = grant.token
            }
            response.email = grant.email
            response.expiresAt = grant.expiresAt
        }
        return response
    }

    func resetPassword(_ request: PortalLinks_V1_ResetPasswordRequest, caller: String) async throws -> PortalLinks_V1_ResetPasswordResponse {
        var verifier = state.snapshot.sessionVerifier
        if case .failure(.unknownKey) = verifier.verifyReset(request.resetToken, at: installation.clock()) {
            await state.reloadForUnknownKey()
            verifier = state.snapshot.sessionVerifier
        }
        try await installation.resetPassword(token: request.resetToken, newPassword: request.newPassword, caller: caller,
                                             verifier: verifier)
        return PortalLinks_V1_ResetPasswordResponse()
    }

    /// The snapshot's session verifier, after a reload when `token` names a key it does not have yet.
    private func sessionVerifier(for token: String) async -> SessionVerifier {
        let verifier = state.snapshot.sessionVerifier
        guard case .failure(.unknownKey) = verifier.verifySession(token, at: installation.clock()) else { return verifier }
        await state.reloadForUnknownKey()
        return state.snapshot.sessionVerifier
    }

    /// Sessions.Verify, answered on the event loop: an HMAC and a few set lookups, no I/O.
    static func verifySession(_ request: PortalLinks_V1_SessionVerifyRequest, with verifier: SessionVerifier,
                              at now: Int64) -> PortalLinks_V1_SessionVerifyResponse {
        sessionVerifyResponse(verifier.verifySession(request.token, at: now))
    }

    static func sessionVerifyResponse(_ outcome: Result<SessionClaims, SessionVerifier.Refusal>) -> PortalLinks_V1_SessionVerifyResponse {
        var response = PortalLinks_V1_SessionVerifyResponse()
        switch outcome {
        case .success(let claims):
            response.valid = true
            response.clientID = claims.clientID.description
            response.sessionID = Hex.padded(claims.sessionID, digits: 16)
            response.expiresAt = claims.expiresAt
            response.signedInAt = claims.signedInAt
        case .failure(let refusal):
            response.reason = refusal.rawValue
        }
        return response
    }

    static func message(_ account: AccountRecord) -> PortalLinks_V1_Account {
        var message = PortalLinks_V1_Account()
        message.email = account.email.normalized
        message.clientID = account.clientID.description
        message.displayName = account.displayName ?? ""
        message.linkID = account.linkID.description
        message.createdAt = account.createdAt
        return message
    }

    static func message(_ grant: SessionGrant) -> PortalLinks_V1_Session {
        var session = PortalLinks_V1_Session()
        session.token = grant.token
        session.expiresAt = grant.claims.expiresAt
        session.signedInAt = grant.claims.signedInAt
        session.clientID = grant.claims.clientID.description
        session.sessionID = Hex.padded(grant.claims.sessionID, digits: 16)
        return session
    }
}
