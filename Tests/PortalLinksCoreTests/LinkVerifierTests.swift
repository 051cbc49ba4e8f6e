import Testing
@testable import PortalLinksCore

@Suite struct LinkVerifierTests {
    let now = TestRing.now

    @Test func validLinkCarriesItsFields() throws {
        var ring = TestRing()
        let key = ring.add(0x0102_0304)
        let uuid = try ClientID(parsing: "0f8fad5b-d9cb-469f-a165-70867728950e")
        let (token, linkID) = ring.token(key, client: uuid, name: "Acme Corp")
        let result = ring.verifier().verify(token, at: now)
        #expect(result.isValid)
        #expect(result.reason == nil)
        #expect(result.linkID == linkID)
        #expect(result.claims?.clientID == uuid)
        #expect(result.claims?.displayName == "Acme Corp")
        #expect(result.claims?.keyID == key)
        #expect(result.claims?.issuedAt == now - 60)
        #expect(result.claims?.expiresAt == now + 86_400)
    }

    @Test func uuidClientWithoutNameFitsInSixtyFourCharacters() throws {
        var ring = TestRing()
        let key = ring.add(0xffff_ffff)
        let (token, _) = ring.token(key, client: try ClientID(parsing: "ffffffff-ffff-ffff-ffff-ffffffffffff"),
                                    issuedAt: Int64(UInt32.max) - 10, expiresAt: Int64(UInt32.max))
        #expect(token.utf8.count <= 64)
    }

    @Test func longestFieldsStillVerify() {
        var ring = TestRing()
        let key = ring.add(7)
        let (token, _) = ring.token(key, client: .text(String(repeating: "c", count: 64)),
                                    name: String(repeating: "é", count: 32))
        #expect(token.utf8.count <= LinkToken.maximumCharacters)
        #expect(ring.verifier().verify(token, at: now).isValid)
    }

    @Test func everySingleBitFlipIsRefused() {
        var ring = TestRing()
        let key = ring.add(42)
        let (token, _) = ring.token(key, name: "Acme Corp")
        let bytes = Base64URL.decode(token)!
        let verifier = ring.verifier()
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << (bit % 8)
            let result = verifier.verify(Base64URL.encode(flipped), at: now)
            #expect(!result.isValid, "bit \(bit) flipped was accepted")
            #expect(result.claims == nil, "bit \(bit): fields of an unauthenticated link were returned")
        }
    }

    @Test func everyCharacterChangeTruncationAndExtensionIsRefused() {
        var ring = TestRing()
        let key = ring.add(42)
        let (token, _) = ring.token(key)
        let verifier = ring.verifier()
        let characters = Array(token)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for index in characters.indices {
            for replacement in alphabet where replacement != characters[index] {
                var changed = characters
                changed[index] = replacement
                #expect(!verifier.verify(String(changed), at: now).isValid)
            }
        }
        for length in 0..<characters.count {
            #expect(!verifier.verify(String(characters.prefix(length)), at: now).isValid, "truncated to \(length)")
        }
        for extra in alphabet + ["=", ".", " "] {
            #expect(!verifier.verify(token + String(extra), at: now).isValid, "extended with \(extra)")
            #expect(!verifier.verify(String(extra) + token, at: now).isValid, "prefixed with \(extra)")
        }
    }

    @Test func unknownKeyNeverFallsBackToAnotherKey() {
        var ring = TestRing()
        let shared = SecureRandom.bytes(32)
        ring.add(1, secret: shared)
        // Signed with the very same secret, under an ID the ring does not hold.
        var other = TestRing()
        let absent = other.add(2, secret: shared)
        let (token, _) = other.token(absent)
        #expect(ring.verifier().verify(token, at: now).reason == .unknownKey)
    }

    @Test func disabledKeyIsRefusedEvenWhenAnotherKeyWouldMatch() {
        var ring = TestRing()
        let shared = SecureRandom.bytes(32)
        let disabled = ring.add(1, state: .disabled, secret: shared)
        ring.add(2, state: .primary, secret: shared)
        var signer = TestRing()
        signer.add(1, secret: shared)
        let (token, _) = signer.token(disabled)
        #expect(ring.verifier().verify(token, at: now).reason == .keyDisabled)
    }

    @Test func wrongKeyAndWrongPurposeAreBadSignatures() {
        var ring = TestRing()
        let key = ring.add(5)
        var impostor = TestRing()
        impostor.add(5)
        #expect(ring.verifier().verify(impostor.token(key).token, at: now).reason == .badSignature)
        let otherPurpose = ring.token(key, purpose: Purpose(label: "portal-links/session/v1")).token
        #expect(ring.verifier().verify(otherPurpose, at: now).reason == .badSignature)
    }

    @Test(arguments: [
        (KeyState.staged, nil as VerifyReason?), (.primary, nil), (.retiring, nil),
        (.expired, .keyExpired), (.disabled, .keyDisabled), (.destroyed, .keyDisabled),
    ])
    func keyStates(_ state: KeyState, _ reason: VerifyReason?) {
        var ring = TestRing()
        let key = ring.add(9, state: state, verifiesUntil: state == .retiring ? now + 10 : nil)
        var signer = TestRing()
        signer.add(9, secret: ring.secrets[key]!)
        #expect(ring.verifier().verify(signer.token(key).token, at: now).reason == reason)
    }

    @Test func aVerifyingKeyWithoutMaterialRefusesEverything() {
        var signer = TestRing()
        let id = signer.add(9)
        let (token, _) = signer.token(id)
        // Forged tags of all zeroes and the real one alike: no tag is checked against an empty key state.
        var forged = Base64URL.decode(token)!
        forged.replaceSubrange((forged.count - 16)..., with: repeatElement(0, count: 16))
        let verifier = LinkVerifier(keys: [id: LinkVerifier.Key(state: .primary, verifiesUntil: nil, hmac: nil)])
        #expect(verifier.verify(token, at: now).reason == .keyDisabled)
        #expect(verifier.verify(Base64URL.encode(forged), at: now).reason == .keyDisabled)
    }

    @Test func retiringKeyExpiresOnItsOwnAfterItsLastLink() {
        var ring = TestRing()
        let key = ring.add(9, state: .retiring, verifiesUntil: now + 100)
        let (token, _) = ring.token(key, expiresAt: now + 100)
        let verifier = ring.verifier(leeway: 60)
        #expect(verifier.verify(token, at: now + 160).isValid)
        #expect(verifier.verify(token, at: now + 161).reason == .keyExpired)
        #expect(verifier.keyState(key, at: now + 161) == .expired)
    }

    @Test func leewayBoundaries() {
        var ring = TestRing()
        let key = ring.add(3)
        let issued: Int64 = now
        let expires: Int64 = now + 3_600
        let (token, _) = ring.token(key, issuedAt: issued, expiresAt: expires)
        let verifier = ring.verifier(leeway: 60)
        #expect(verifier.verify(token, at: issued - 61).reason == .notYetValid)
        #expect(verifier.verify(token, at: issued - 60).isValid)
        #expect(verifier.verify(token, at: expires + 60).isValid)
        #expect(verifier.verify(token, at: expires + 61).reason == .expired)
        let strict = ring.verifier(leeway: 0)
        #expect(strict.verify(token, at: issued - 1).reason == .notYetValid)
        #expect(strict.verify(token, at: expires + 1).reason == .expired)
        #expect(strict.verify(token, at: expires).isValid)
    }

    @Test func revocationsOfLinksAndClients() {
        var ring = TestRing()
        let key = ring.add(3)
        let (token, linkID) = ring.token(key, issuedAt: now - 100)
        #expect(ring.verifier(revocations: Revocations(links: [linkID])).verify(token, at: now).reason == .linkRevoked)
        let before = Revocations(clientsRevokedBefore: [TestRing.acme: now - 100])
        #expect(ring.verifier(revocations: before).verify(token, at: now).isValid, "issued at the cut-off: not before it")
        let after = Revocations(clientsRevokedBefore: [TestRing.acme: now - 99])
        #expect(ring.verifier(revocations: after).verify(token, at: now).reason == .clientRevoked)
        let disabled = Revocations(disabledClients: [TestRing.acme])
        #expect(ring.verifier(revocations: disabled).verify(token, at: now).reason == .clientDisabled)
        let otherClient = Revocations(links: [LinkID(rawValue: linkID.rawValue ^ 1)], disabledClients: [.text("globex")])
        #expect(ring.verifier(revocations: otherClient).verify(token, at: now).isValid)
        // Expiry is checked before revocation, as documented.
        #expect(ring.verifier(revocations: Revocations(links: [linkID])).verify(token, at: now + 90_000).reason == .expired)
    }

    @Test func versionAndLengthAreCheckedBeforeAnythingElse() {
        var ring = TestRing()
        let key = ring.add(3)
        var bytes = Base64URL.decode(ring.token(key).token)!
        bytes[0] = 0x02
        let verifier = ring.verifier()
        #expect(verifier.verify(Base64URL.encode(bytes), at: now).reason == .unsupportedVersion)
        #expect(verifier.verify("", at: now).reason == .malformed)
        #expect(verifier.verify(String(repeating: "A", count: 513), at: now).reason == .malformed)
        #expect(verifier.verify(String(repeating: "A", count: 512), at: now).reason == .unsupportedVersion)
        #expect(verifier.verify(Base64URL.encode([0x01] + Array(repeating: 0, count: 30)), at: now).reason == .malformed)
        #expect(verifier.verify("AQ", at: now).reason == .malformed)
    }

    @Test func garbageIsNeverAcceptedAndNeverCrashes() async {
        var ring = TestRing()
        let key = ring.add(3)
        let verifier = ring.verifier()
        var generator = SystemRandomNumberGenerator()
        let valid = Base64URL.decode(ring.token(key).token)!
        var accepted: [String] = []
        for round in 0..<20_000 {
            // Seconds of work in a debug build: let the other suites' tasks have this thread now and then.
            if round % 200 == 0 { await Task.yield() }
            let length = Int.random(in: 0...600, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            if round % 2 == 0, bytes.count >= 5 {
                // Keep a real version and key ID so the garbage reaches the tag check.
                bytes.replaceSubrange(0..<5, with: valid[0..<5])
            }
            let text = round % 3 == 0 ? String(decoding: bytes, as: UTF8.self) : Base64URL.encode(bytes)
            if verifier.verify(text, at: now).isValid { accepted.append(text) }
        }
        #expect(accepted.isEmpty)
    }
}
