import Foundation
import PortalLinksCore

/// The token decoders and verifiers on arbitrary strings, against the ring of the published test vectors
/// (Protos/testdata/golden_tokens.json), whose secrets are known. A string is accepted only if it is
/// exactly what signing its claims with that key writes: nothing forged, and no second spelling of a real
/// token. Link, session and password-reset tokens share keys, so each must be refused for the others'
/// purposes; the `utf8` fast path must agree with the `String` one; decoding without trust must never crash
/// and must agree with the verifier on accepted links.
public struct TokenChecks: Sendable {
    let linkSigners: [KeyID: HMACKey]
    let sessionSigners: [KeyID: HMACKey]
    let resetSigners: [KeyID: HMACKey]
    let links: LinkVerifier
    let sessions: SessionVerifier
    /// When the vectors' valid links are checked.
    let now: Int64

    public static let vectorsPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../Protos/testdata/golden_tokens.json").standardized.path

    public init(vectorsPath: String = TokenChecks.vectorsPath) throws {
        guard let data = FileManager.default.contents(atPath: vectorsPath),
              let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let keys = root["keys"] as? [[String: Any]], let vectors = root["vectors"] as? [[String: Any]],
              let leeway = root["leeway_seconds"] as? Int, let first = vectors.first?["verify_at"] as? Int
        else { throw PortalLinksError(.invalidInput, "cannot read the test vectors at \(vectorsPath)") }
        var linkSigners: [KeyID: HMACKey] = [:], sessionSigners: [KeyID: HMACKey] = [:], resetSigners: [KeyID: HMACKey] = [:]
        var linkKeys: [KeyID: LinkVerifier.Key] = [:], sessionKeys: [KeyID: SessionVerifier.Key] = [:]
        for key in keys {
            guard let id = (key["key_id"] as? String).flatMap(KeyID.init(parsing:)), let secret = (key["secret_hex"] as? String).flatMap(Hex.decode),
                  let state = (key["state"] as? String).flatMap(KeyState.init(rawValue:))
            else { throw PortalLinksError(.invalidInput, "a test-vector key does not parse") }
            let until = (key["verifies_until"] as? Int).map(Int64.init)
            linkSigners[id] = HMACKey(secret: secret, purpose: .link)
            sessionSigners[id] = HMACKey(secret: secret, purpose: .session)
            resetSigners[id] = HMACKey(secret: secret, purpose: .passwordReset)
            linkKeys[id] = LinkVerifier.Key(state: state, verifiesUntil: until, hmac: linkSigners[id])
            sessionKeys[id] = SessionVerifier.Key(state: state, verifiesUntil: until, session: sessionSigners[id], reset: resetSigners[id])
        }
        self.linkSigners = linkSigners
        self.sessionSigners = sessionSigners
        self.resetSigners = resetSigners
        links = LinkVerifier(keys: linkKeys, leeway: Int64(leeway))
        sessions = SessionVerifier(keys: sessionKeys, leeway: Int64(leeway))
        now = Int64(first)
    }

    public func check(_ input: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let token = String(decoding: input, as: UTF8.self)
        let verification = links.verify(token, at: now)
        if Array(token.utf8).elementsEqual(input) {
            let fast = input.withMemoryRebound(to: UInt8.self) { links.verify(utf8: $0, at: now) }
            try expect(fast.reason == verification.reason, "the utf8 path says \(String(describing: fast.reason)), the String path \(String(describing: verification.reason))")
        }
        let unverified = UnverifiedLink(decoding: token)
        if verification.isValid {
            let claims = verification.claims!
            try expect(LinkToken.sign(claims, with: linkSigners[claims.keyID]!).token == token, "a link was accepted that its key did not write")
            try expect(unverified?.claims == claims && unverified?.linkID == verification.linkID, "decoding without trust disagrees with the verifier")
        }
        if case .success(let claims) = sessions.verifySession(token, at: now) {
            try expect(claims.sign(with: sessionSigners[claims.keyID]!) == token, "a session token was accepted that its key did not write")
            try expect(!verification.isValid, "one token accepted both as a link and as a session")
        }
        if case .success(let claims) = sessions.verifyReset(token, at: now) {
            try expect(claims.sign(with: resetSigners[claims.keyID]!) == token, "a reset token was accepted that its key did not write")
            try expect(!verification.isValid, "one token accepted both as a link and as a password reset")
        }
    }
}
