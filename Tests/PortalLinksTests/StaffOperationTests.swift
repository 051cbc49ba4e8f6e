import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksStore
import Testing

@Suite struct StaffOperationTests {
    @Test func issueThenVerify() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Acme Corp", sentTo: ["ops@acme.example"]))
        let verification = try await installation.loadVerifier().verify(link.token, at: home.clock.now)
        #expect(verification.isValid)
        #expect(verification.linkID == link.linkID)
        #expect(link.claims.expiresAt - link.claims.issuedAt == 90 * 86_400)
        let ledger = try #require(try await installation.store.ledgerEntry(link.linkID))
        #expect(ledger.sentTo == ["ops@acme.example"] && ledger.issuedBy == "tester" && ledger.clientID == .text("acme"))
    }

    @Test func linksWithEqualFieldsInTheSameSecondAreDistinct() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        // 2,000 equal links in one second share a 16-bit nonce space: about 30 clash, within the batch too.
        let requests = (0..<2_000).map { _ in IssueRequest(clientID: .text("acme"), displayName: "Acme Corp") }
        let links = try await installation.issue(requests).map { try $0.get() }
        #expect(Set(links.map(\.linkID)).count == 2_000)
        #expect(Set(links.map(\.token)).count == 2_000)
        let ledger = try await installation.store.ledgerEntries(client: .text("acme"), expiringIn: nil)
        // Every link answered is in the ledger, and nothing else: a retried clash leaves no orphan entry.
        let differ = Set(ledger.map(\.linkID)).symmetricDifference(links.map(\.linkID))
        #expect(differ.isEmpty, "\(differ.count) links differ between the ledger (\(ledger.count)) and the answers")
        try await installation.revokeLink(links[0].linkID)
        let verifier = try await installation.loadVerifier()
        #expect(verifier.verify(links[0].token, at: home.clock.now).reason == .linkRevoked)
        #expect(verifier.verify(links[1].token, at: home.clock.now).isValid, "revoking one leaves its twin alone")
    }

    @Test func policyRefusesLifetimesBeyondTheMaximum() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let now = home.clock.now
        await #expect(throws: PortalLinksError.self) {
            _ = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: now + 366 * 86_400))
        }
        await #expect(throws: PortalLinksError.self) {
            _ = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: now - 1))
        }
        await #expect(throws: PortalLinksError.self) {
            _ = try await installation.issue(IssueRequest(clientID: .text("acme"), sentTo: ["not an address"]))
        }
        #expect(try await installation.store.ledgerEntries(client: nil, expiringIn: nil).isEmpty, "nothing issued")
        _ = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: now + 365 * 86_400))
    }

    @Test func rotationKeepsOldLinksAndEmergencyRotationStopsThem() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let before = try await installation.issue(IssueRequest(clientID: .text("acme")))
        try await installation.rotateKeys()
        let verifier = try await installation.loadVerifier()
        #expect(verifier.verify(before.token, at: home.clock.now).isValid, "a retiring key still verifies its links")
        let after = try await installation.issue(IssueRequest(clientID: .text("acme")))
        #expect(after.claims.keyID != before.claims.keyID)
        try await installation.rotateKeys(emergency: true)
        let emergency = try await installation.loadVerifier()
        #expect(emergency.verify(before.token, at: home.clock.now).isValid, "an older retiring key is untouched")
        #expect(emergency.verify(after.token, at: home.clock.now).reason == .keyDisabled)
        try await installation.enableKey(after.claims.keyID)
        #expect(try await installation.loadVerifier().verify(after.token, at: home.clock.now).isValid)
    }

    @Test func retiredKeysExpireAndArePruned() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        // A link for two days: the key verifies until it expires (longer than any session it signed could last).
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 2 * 86_400))
        try await installation.rotateKeys()
        home.clock.advance(by: 2 * 86_400 + 61)
        let ring = try await installation.ring()
        #expect(ring.effectiveState(of: ring.key(link.claims.keyID)!, at: home.clock.now) == .expired)
        #expect(try await installation.loadVerifier().verify(link.token, at: home.clock.now).reason == .keyExpired)
        let pruned = try await installation.prune()
        #expect(pruned.destroyedKeys == [link.claims.keyID])
        #expect(try await installation.ring().key(link.claims.keyID)?.sealedSecret == nil)
    }

    @Test func revokingLinksAndClients() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let first = try await installation.issue(IssueRequest(clientID: .text("acme")))
        let second = try await installation.issue(IssueRequest(clientID: .text("acme")))
        #expect(try await installation.revokeLink(first.linkID))
        var verifier = try await installation.loadVerifier()
        #expect(verifier.verify(first.token, at: home.clock.now).reason == .linkRevoked)
        #expect(verifier.verify(second.token, at: home.clock.now).isValid)

        home.clock.advance(by: 1)
        try await installation.revokeClient(.text("acme"))
        let later = try await installation.issue(IssueRequest(clientID: .text("acme")))
        verifier = try await installation.loadVerifier()
        #expect(verifier.verify(second.token, at: home.clock.now).reason == .clientRevoked)
        #expect(verifier.verify(later.token, at: home.clock.now).isValid, "links issued after the revocation work")

        try await installation.setClient(.text("acme"), disabled: true)
        #expect(try await installation.loadVerifier().verify(later.token, at: home.clock.now).reason == .clientDisabled)
        try await installation.setClient(.text("acme"), disabled: false)
        #expect(try await installation.loadVerifier().verify(later.token, at: home.clock.now).isValid)
    }

    @Test func aShorterMaximumSetLaterNeverCutsARevocationShort() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let link = try await home.open().issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 300 * 86_400))
        var shortPolicy = LinkPolicy()
        shortPolicy.maximumLifetime = 7 * 86_400
        let installation = try await home.open(policy: shortPolicy)
        home.clock.advance(by: 1)
        try await installation.revokeClient(.text("acme"))
        home.clock.advance(by: 30 * 86_400)
        _ = try await installation.prune()
        #expect(try await installation.loadVerifier().verify(link.token, at: home.clock.now).reason == .clientRevoked)
    }

    @Test func theConfiguredLeewayGovernsRetirementEverywhere() async throws {
        let home = try TestHome()
        defer { home.remove() }
        var policy = LinkPolicy()
        policy.leeway = 3_600
        let installation = try await home.open(policy: policy)
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 600))
        try await installation.rotateKeys()
        home.clock.advance(by: 600 + 1_800)  // past the expiry, within the leeway
        #expect(try await installation.prune().destroyedKeys.isEmpty)
        let ring = try await installation.ring()
        #expect(installation.effectiveState(of: ring.key(link.claims.keyID)!, in: ring) == .retiring)
        #expect(try await installation.loadVerifier().verify(link.token, at: home.clock.now).isValid)
    }

    @Test func revokingAClientCoversTheSameSecondBeforeButNotAfter() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let before = try await installation.issue(IssueRequest(clientID: .text("acme")))
        try await installation.revokeClient(.text("acme"))
        let after = try await installation.issue(IssueRequest(clientID: .text("acme")))
        #expect(before.claims.issuedAt == after.claims.issuedAt, "all in one second")
        let verifier = try await installation.loadVerifier()
        #expect(!verifier.verify(before.token, at: home.clock.now).isValid)
        #expect(verifier.verify(after.token, at: home.clock.now).isValid)
    }

    @Test func bulkIssueKeepsGoodRequestsWhenOthersAreRefused() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let now = home.clock.now
        let results = try await installation.issue([
            IssueRequest(clientID: .text("acme")),
            IssueRequest(clientID: .text("globex"), expiresAt: now + 999 * 86_400),
            IssueRequest(clientID: .text("initech"), displayName: "Initech"),
        ])
        #expect((try? results[0].get()) != nil)
        #expect((try? results[1].get()) == nil)
        #expect((try? results[2].get()) != nil)
        #expect(try await installation.store.ledgerEntries(client: nil, expiringIn: nil).count == 2)
    }

    @Test func everyOperationIsAudited() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open(actor: "alice")
        let link = try await installation.issue(IssueRequest(clientID: .text("acme")))
        let staged = try await installation.addKey()
        try await installation.promoteKey(staged)
        try await installation.revokeLink(link.linkID)
        let audit = try await installation.store.auditEntries()
        #expect(audit.map(\.operation) == ["key.rotate", "link.issue", "key.add", "key.promote", "revoke.link"])
        #expect(audit.allSatisfy { $0.actor == "alice" })
        #expect(audit.allSatisfy { !$0.subject.contains(link.token) })
        #expect(AuditEntry.firstBrokenEntry(in: audit) == nil)
    }
}
