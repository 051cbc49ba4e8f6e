import PortalLinks
import PortalLinksCore
import Testing

@Suite struct InspectTests {
    @Test func expiredLinkSaysHowLongAgoAndHowToReissue() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 86_400))
        home.clock.advance(by: 4 * 86_400)
        let inspection = try await installation.inspect("<https://portal.example.com/join?token=\(link.token)>")
        #expect(inspection.verification.reason == .expired)
        #expect(inspection.advice == "expired 3 days ago; issue a new one with: portal-links issue --client acme")
        #expect(inspection.ledger?.linkID == link.linkID)
        #expect(inspection.keyState == .primary)
    }

    @Test func tamperedLinkIsNotTrusted() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let link = try await installation.issue(IssueRequest(clientID: .text("acme")))
        var bytes = Base64URL.decode(link.token)!
        bytes[18] ^= 0x20  // the text client ID
        let inspection = try await installation.inspect(Base64URL.encode(bytes))
        #expect(inspection.verification.reason == .badSignature)
        #expect(inspection.verification.claims == nil)
        #expect(inspection.ledger == nil, "no lookup by an unauthenticated link ID")
        #expect(inspection.decoded?.claims != nil, "fields are still shown, marked unverified")
        #expect(inspection.advice.contains("do not trust"))
    }

    @Test func garbageIsExplained() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let inspection = try await home.open().inspect("hello world")
        #expect(inspection.verification.reason == .malformed)
        #expect(inspection.decoded == nil)
    }
}
