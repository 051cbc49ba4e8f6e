import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksStore
import Testing

/// A routine rotation signs nobody out: a retiring key verifies until the last of what it signed expires,
/// sessions and reset tokens as well as links. The reported case: register, rotate, sign in, rotate again.
@Suite struct RotationKeepsSessionsTests {
    @Test func sessionsAndResetTokensOutliveTwoRotations() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open().with(accountPolicy: AccountTests.policy)
        let leeway = LinkPolicy().leeway
        // A link that expires within the hour, so that the links' own expiry does not keep the keys alive.
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 3_600))
        try await installation.register(link: link.token, email: "ana@example.com", password: AccountTests.password,
                                        displayName: nil, caller: "frontend")
        try await installation.rotateKeys()
        let second = try await installation.ring().primary!.id
        let session = try await installation.signIn(email: "ana@example.com", password: AccountTests.password, caller: "frontend")
        let reset = try #require(try await installation.requestPasswordReset(email: "ana@example.com", caller: "frontend"))
        let lateReset = try #require(try await installation.requestPasswordReset(email: "ana@example.com", caller: "frontend"))
        let rotatedAt = home.clock.now
        try await installation.rotateKeys()

        let retiring = try #require(try await installation.ring().key(second))
        #expect(retiring.verifiesUntil == rotatedAt + AccountTests.policy.sessionAbsolute, "until a session signed then ends")

        home.clock.advance(by: leeway + 60)  // past the leeway the old code gave it
        #expect(try await installation.verifySession(session.token).sessionID == session.claims.sessionID)
        let refreshed = try await installation.refreshSession(session.token)
        #expect(refreshed.claims.sessionID == session.claims.sessionID)
        try await installation.resetPassword(token: reset.token, newPassword: "a brand new passphrase", caller: "frontend")

        // Each stops when it should: the reset token at its hour, by its own expiry, not by its key.
        home.clock.advance(by: rotatedAt + AccountTests.policy.resetLifetime + leeway + 1 - home.clock.now)
        await #expect(throws: PortalLinksError.self) {
            try await installation.resetPassword(token: lateReset.token, newPassword: "yet another passphrase", caller: "frontend")
        }
        // The key verifies through the last session's absolute limit and the leeway, and not a second longer.
        let ring = try await installation.ring()
        home.clock.advance(by: rotatedAt + AccountTests.policy.sessionAbsolute + leeway - home.clock.now)
        #expect(installation.effectiveState(of: retiring, in: ring) == .retiring)
        home.clock.advance(by: 1)
        #expect(installation.effectiveState(of: retiring, in: ring) == .expired)
    }
}
