import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksStore
import Testing

/// The reported bypass, end to end through staff operations and accounts: a link issued under one spelling of a
/// client, revoked or disabled under the other, in every order, and the accounts registered through it.
@Suite struct OneSpellingStaffTests {
    static let spellings: [(String, String)] = [("cafe\u{301}", "caf\u{E9}"), ("\u{212A}im-co", "Kim-co"), ("\u{212B}-co", "\u{C5}-co")]

    static func setUp(issuedAs spelling: String) async throws -> (TestHome, Installation, link: IssuedLink) {
        let home = try TestHome()
        let installation = try await home.open().with(accountPolicy: AccountTests.policy)
        let link = try await installation.issue(IssueRequest(clientID: try ClientID(parsing: spelling), displayName: "Cafe\u{301} Corp"))
        home.clock.advance(by: 5)
        return (home, installation, link)
    }

    @Test(arguments: spellings, [false, true])
    func revokingUnderEitherSpellingRevokes(pair: (String, String), reversed: Bool) async throws {
        let (issued, revoked) = reversed ? (pair.1, pair.0) : pair
        let (home, installation, link) = try await Self.setUp(issuedAs: issued)
        defer { home.remove() }
        #expect(link.claims.clientID.description.utf8.elementsEqual(CanonicalText.nfc(issued).utf8), "signed in NFC")
        #expect(link.claims.displayName?.utf8.elementsEqual("Caf\u{E9} Corp".utf8) == true)
        #expect(try await installation.store.ledgerEntries(client: try ClientID(parsing: revoked), expiringIn: nil).count == 1)
        try await installation.revokeClient(try ClientID(parsing: revoked))
        #expect(try await installation.loadVerifier().verify(link.token, at: home.clock.now).reason == .clientRevoked)
    }

    /// Disable under one spelling, then the other (both disabled), then enable under either: one client all along.
    @Test(arguments: spellings, [false, true])
    func disablingAndEnablingUnderEitherSpellingIsOneClient(pair: (String, String), reversed: Bool) async throws {
        let (first, second) = reversed ? (pair.1, pair.0) : pair
        let (home, installation, link) = try await Self.setUp(issuedAs: first)
        defer { home.remove() }
        try await installation.register(link: link.token, email: "ana@example.com", password: AccountTests.password,
                                        displayName: nil, caller: "frontend")
        func state() async throws -> (VerifyReason?, signsIn: Bool) {
            let reason = try await installation.loadVerifier().verify(link.token, at: home.clock.now).reason
            let signsIn = (try? await installation.signIn(email: "ana@example.com", password: AccountTests.password, caller: "frontend")) != nil
            return (reason, signsIn)
        }
        #expect(try await state() == (nil, true))
        #expect(try await installation.setClient(try ClientID(parsing: second), disabled: true))
        #expect(try await state() == (.clientDisabled, false))
        #expect(try await !installation.setClient(try ClientID(parsing: first), disabled: true), "already disabled: the same client")
        #expect(try await state() == (.clientDisabled, false))
        #expect(try await installation.setClient(try ClientID(parsing: first), disabled: false))
        #expect(try await state() == (nil, true))
        #expect(try await !installation.setClient(try ClientID(parsing: second), disabled: false), "already enabled: the same client")
        #expect(try await installation.accounts(client: try ClientID(parsing: second)).count == 1)
    }
}
