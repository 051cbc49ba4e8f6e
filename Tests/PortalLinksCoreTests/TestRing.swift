@testable import PortalLinksCore

/// A verifier with known keys, for tests.
struct TestRing {
    static let now: Int64 = 1_800_000_000
    static let acme = ClientID.text("acme")

    var secrets: [KeyID: [UInt8]] = [:]
    var keys: [KeyID: LinkVerifier.Key] = [:]

    @discardableResult
    mutating func add(_ raw: UInt32, state: KeyState = .primary, verifiesUntil: Int64? = nil,
                      secret: [UInt8]? = nil) -> KeyID {
        let id = KeyID(rawValue: raw)
        let material = secret ?? SecureRandom.bytes(32)
        secrets[id] = material
        keys[id] = LinkVerifier.Key(state: state, verifiesUntil: verifiesUntil,
                                    hmac: HMACKey(secret: material, purpose: .link))
        return id
    }

    func signer(_ id: KeyID, purpose: Purpose = .link) -> HMACKey { HMACKey(secret: secrets[id]!, purpose: purpose) }

    func verifier(revocations: Revocations = .none, leeway: Int64 = 60) -> LinkVerifier {
        LinkVerifier(keys: keys, revocations: revocations, leeway: leeway)
    }

    func token(_ id: KeyID, client: ClientID = acme, name: String? = nil, issuedAt: Int64 = now - 60,
               expiresAt: Int64 = now + 86_400, purpose: Purpose = .link) -> (token: String, linkID: LinkID) {
        let claims = try! LinkClaims(keyID: id, issuedAt: issuedAt, expiresAt: expiresAt, clientID: client, displayName: name)
        return LinkToken.sign(claims, with: signer(id, purpose: purpose))
    }

    /// A link as a release before the one-spelling rule could sign it: the client's bytes as given, not NFC.
    func legacyToken(_ id: KeyID, client text: String, issuedAt: Int64 = now - 60) -> String {
        let claims = LinkClaims(trusted: id, issuedAt: issuedAt, expiresAt: Self.now + 86_400, nonce: 7,
                                clientID: .text(text), displayName: nil)
        return LinkToken.sign(claims, with: signer(id)).token
    }
}

extension LinkVerifier {
    /// The allocation-free path's outcome, made owned for comparing.
    func borrowedVerification(_ token: String, at now: Int64) -> LinkVerification {
        var token = token
        return token.withUTF8 { utf8 in
            var result: LinkVerification?
            withVerification(utf8: utf8, at: now) { result = $0.owned }
            return result!
        }
    }
}
