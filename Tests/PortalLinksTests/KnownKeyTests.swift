import Foundation
import Testing
@testable import PortalLinks
import PortalLinksCore

/// The ring a conformance server builds from the published test vectors' keys.
@Suite struct KnownKeyTests {
    static func key(_ id: String, _ state: KeyState, until: Int64? = nil) -> KnownKey {
        KnownKey(id: KeyID(parsing: id)!, secret: Array(repeating: UInt8(id.count), count: 32), state: state, verifiesUntil: until)
    }

    @Test func knownKeysTakeTheirStatesAndSignAsGiven() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        let keys = [Self.key("0a0b0c0d", .primary), Self.key("c0ffee01", .retiring, until: 1_807_776_000), Self.key("dead0001", .disabled)]
        try await installation.installKnownKeys(keys)
        let ring = try await installation.ring()
        #expect(ring.primary?.id == keys[0].id)
        #expect(ring.key(keys[1].id)?.state == .retiring)
        #expect(ring.key(keys[1].id)?.verifiesUntil == 1_807_776_000)
        #expect(ring.key(keys[2].id)?.state == .disabled)
        // A link signed with the given secret outside the installation verifies inside it.
        let claims = try LinkClaims(keyID: keys[0].id, issuedAt: home.clock.now, expiresAt: home.clock.now + 3_600,
                                    clientID: ClientID(parsing: "acme"), displayName: nil)
        let (token, _) = LinkToken.sign(claims, with: HMACKey(secret: keys[0].secret, purpose: .link))
        #expect(try await installation.loadVerifier().verify(token, at: home.clock.now).isValid)
    }

    @Test func refusedUnlessTheRingIsEmptyAndHasOnePrimary() async throws {
        let home = try TestHome()
        defer { home.remove() }
        let installation = try await home.open()
        await #expect(throws: PortalLinksError.self) {
            try await installation.installKnownKeys([Self.key("0a0b0c0d", .primary), Self.key("0a0b0c0e", .primary)])
        }
        await #expect(throws: PortalLinksError.self) { try await installation.installKnownKeys([Self.key("0a0b0c0d", .staged)]) }
        #expect(try await installation.ring().keys.isEmpty)
        try await installation.rotateKeys()
        await #expect(throws: PortalLinksError.self) { try await installation.installKnownKeys([Self.key("0a0b0c0d", .primary)]) }
        #expect(try await installation.ring().keys.count == 1)
    }
}
