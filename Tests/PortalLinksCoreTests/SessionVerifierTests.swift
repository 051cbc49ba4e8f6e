import Testing
@testable import PortalLinksCore

@Suite struct SessionVerifierTests {
    static let secret = [UInt8](repeating: 7, count: 32)
    static let keyID = KeyID(rawValue: 0x0102_0304)
    static let now: Int64 = 1_800_000_000

    static func verifier(state: KeyState = .primary, endings: SessionVerifier.Endings = .none,
                         secret: [UInt8] = secret) -> SessionVerifier {
        SessionVerifier(keys: [keyID: .init(state: state, verifiesUntil: nil,
                                            session: HMACKey(secret: secret, purpose: .session),
                                            reset: HMACKey(secret: secret, purpose: .passwordReset))],
                        endings: endings)
    }

    static func session(epoch: Int64 = 0, signedInAt: Int64 = now, expiresAt: Int64 = now + 1_800,
                        client: ClientID = .text("acme")) -> (SessionClaims, String) {
        let claims = SessionClaims(keyID: keyID, accountID: 42, clientID: client, sessionID: 0xdead_beef, epoch: epoch,
                                   signedInAt: signedInAt, expiresAt: expiresAt)
        return (claims, claims.sign(with: HMACKey(secret: secret, purpose: .session)))
    }

    @Test func aFreshSessionHolds() throws {
        let (claims, token) = Self.session(client: try ClientID(parsing: "0f8fad5b-d9cb-469f-a165-70867728950e"))
        #expect(try Self.verifier().verifySession(token, at: Self.now + 60).get() == claims)
    }

    @Test func idleAndAbsoluteLimits() {
        let verifier = Self.verifier()
        let (_, idle) = Self.session()
        #expect(verifier.verifySession(idle, at: Self.now + 1_800 + 61) == .failure(.expired))
        // A refreshed token still dies 12 hours after the sign-in it comes from.
        let (_, refreshed) = Self.session(signedInAt: Self.now - 12 * 3_600, expiresAt: Self.now + 1_800)
        #expect(verifier.verifySession(refreshed, at: Self.now + 61) == .failure(.expired))
    }

    @Test func tamperedTokensAndWrongKeysFail() {
        let (_, token) = Self.session()
        var bytes = Base64URL.decode(token)!
        for index in [5, 13, 30, bytes.count - 1] {
            bytes[index] ^= 0x01
            let result = Self.verifier().verifySession(Base64URL.encode(bytes), at: Self.now)
            #expect(result == .failure(.badSignature) || result == .failure(.malformed) || result == .failure(.unknownKey))
            bytes[index] ^= 0x01
        }
        let other = Self.verifier(secret: [UInt8](repeating: 8, count: 32))
        #expect(other.verifySession(token, at: Self.now) == .failure(.badSignature))
        #expect(Self.verifier(state: .disabled).verifySession(token, at: Self.now) == .failure(.keyDisabled))
        #expect(SessionVerifier(keys: [:]).verifySession(token, at: Self.now) == .failure(.unknownKey))
    }

    @Test(arguments: ["", "AQ", String(repeating: "A", count: 400), "not base64!", "UwECAwQ"])
    func garbageIsMalformed(_ token: String) {
        #expect(Self.verifier().verifySession(token, at: Self.now) == .failure(.malformed))
        #expect(Self.verifier().verifyReset(token, at: Self.now) == .failure(.malformed))
    }

    /// Same key material, other purpose: a link is never a session, a session never a link or a reset.
    @Test func tokensOfOneKindAreNeverAnother() throws {
        let link = LinkToken.sign(try LinkClaims(keyID: Self.keyID, issuedAt: Self.now, expiresAt: Self.now + 3_600, clientID: .text("acme")),
                                  with: HMACKey(secret: Self.secret, purpose: .link)).token
        #expect(Self.verifier().verifySession(link, at: Self.now) == .failure(.malformed))
        #expect(Self.verifier().verifyReset(link, at: Self.now) == .failure(.malformed))
        let (_, session) = Self.session()
        let links = LinkVerifier(keys: [Self.keyID: .init(state: .primary, verifiesUntil: nil, hmac: HMACKey(secret: Self.secret, purpose: .link))])
        #expect(!links.verify(session, at: Self.now).isValid)
        #expect(Self.verifier().verifyReset(session, at: Self.now) == .failure(.malformed))
        // A session layout signed under the link purpose (a forged kind byte) fails its tag.
        let claims = SessionClaims(keyID: Self.keyID, accountID: 1, clientID: .text("acme"), sessionID: 1, epoch: 0,
                                   signedInAt: Self.now, expiresAt: Self.now + 60)
        let crossSigned = claims.sign(with: HMACKey(secret: Self.secret, purpose: .link))
        #expect(Self.verifier().verifySession(crossSigned, at: Self.now) == .failure(.badSignature))
    }

    @Test func endingsEndSessions() {
        let (_, token) = Self.session(epoch: 3)
        #expect(Self.verifier(endings: .init(epochs: [42: 3])).verifySession(token, at: Self.now).isSuccess)
        #expect(Self.verifier(endings: .init(epochs: [42: 4])).verifySession(token, at: Self.now) == .failure(.ended))
        #expect(Self.verifier(endings: .init(epochs: [41: 9])).verifySession(token, at: Self.now).isSuccess)
        #expect(Self.verifier(endings: .init(signedOut: [0xdead_beef])).verifySession(token, at: Self.now) == .failure(.ended))
        #expect(Self.verifier(endings: .init(blockedAccounts: [42])).verifySession(token, at: Self.now) == .failure(.ended))
    }

    @Test func resetTokensCarryTheEpochAndExpire() throws {
        let claims = PasswordResetClaims(keyID: Self.keyID, accountID: 42, epoch: 5, expiresAt: Self.now + 3_600)
        let token = claims.sign(with: HMACKey(secret: Self.secret, purpose: .passwordReset))
        #expect(try Self.verifier().verifyReset(token, at: Self.now).get() == claims)
        #expect(Self.verifier().verifyReset(token, at: Self.now + 3_600 + 61) == .failure(.expired))
        #expect(Self.verifier().verifySession(token, at: Self.now) == .failure(.malformed))
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
