import Foundation
import Testing
@testable import PortalLinksCore

/// The language-neutral vectors in Protos/testdata/golden_tokens.json: every client library must sign the
/// valid ones to the same token and refuse the others with the same reason. Run with
/// PORTAL_LINKS_RECORD_GOLDEN=1 to rewrite the file after a deliberate format change.
@Suite struct GoldenTokenTests {
    static let fileURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protos/testdata/golden_tokens.json")

    struct Key { let id: String; let secret: String; let state: KeyState; let verifiesUntil: Int64? }

    static let keys = [
        Key(id: "0a0b0c0d", secret: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", state: .primary, verifiesUntil: nil),
        Key(id: "c0ffee01", secret: "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff", state: .retiring, verifiesUntil: 1_807_776_000),
        Key(id: "dead0001", secret: "5555555555555555555555555555555555555555555555555555555555555555", state: .disabled, verifiesUntil: nil),
    ]
    static let issuedAt: Int64 = 1_800_000_000
    static let expiresAt: Int64 = 1_807_776_000  // 90 days later

    /// (name, key, client, display name, issued, expires, verify at, expected reason); nonces count up from 0x1234.
    static let signed: [(String, String, String, String?, Int64, Int64, Int64, VerifyReason?)] = [
        ("uuid client, no name", "0a0b0c0d", "0f8fad5b-d9cb-469f-a165-70867728950e", nil, issuedAt, expiresAt, issuedAt + 100, nil),
        ("text client with display name", "0a0b0c0d", "acme", "Acme Corp", issuedAt, expiresAt, issuedAt + 100, nil),
        ("non-ASCII name", "0a0b0c0d", "globex-eu", "Société Générale d'Essai", issuedAt, expiresAt, issuedAt + 100, nil),
        ("signed by a retiring key", "c0ffee01", "acme", nil, issuedAt, expiresAt, issuedAt + 100, nil),
        ("within leeway before issue", "0a0b0c0d", "acme", nil, issuedAt, expiresAt, issuedAt - 60, nil),
        ("before issue beyond leeway", "0a0b0c0d", "acme", nil, issuedAt, expiresAt, issuedAt - 61, .notYetValid),
        ("within leeway after expiry", "0a0b0c0d", "acme", nil, issuedAt, expiresAt, expiresAt + 60, nil),
        ("expired", "0a0b0c0d", "acme", nil, issuedAt, expiresAt, expiresAt + 61, .expired),
        ("signed by a disabled key", "dead0001", "acme", nil, issuedAt, expiresAt, issuedAt + 100, .keyDisabled),
    ]

    static func key(_ id: String) -> Key { keys.first { $0.id == id }! }

    static func verifier() -> LinkVerifier {
        var table: [KeyID: LinkVerifier.Key] = [:]
        for key in keys {
            table[KeyID(parsing: key.id)!] = LinkVerifier.Key(
                state: key.state, verifiesUntil: key.verifiesUntil,
                hmac: HMACKey(secret: Hex.decode(key.secret)!, purpose: .link))
        }
        return LinkVerifier(keys: table, leeway: 60)
    }

    /// Builds every vector from the definitions above.
    static func vectors() throws -> [[String: Any]] {
        var vectors: [[String: Any]] = []
        var firstToken = ""
        for (index, (name, keyID, client, displayName, issued, expires, at, reason)) in signed.enumerated() {
            let nonce = UInt16(0x1234 + index)
            let claims = try LinkClaims(keyID: KeyID(parsing: keyID)!, issuedAt: issued, expiresAt: expires, nonce: nonce,
                                        clientID: ClientID(parsing: client), displayName: displayName)
            let (token, linkID) = LinkToken.sign(claims, with: HMACKey(secret: Hex.decode(key(keyID).secret)!, purpose: .link))
            if firstToken.isEmpty { firstToken = token }
            vectors.append([
                "name": name, "key_id": keyID, "client_id": client, "display_name": displayName ?? NSNull(),
                "issued_at": issued, "expires_at": expires, "nonce": Int(nonce), "token": token, "link_id": linkID.description,
                "verify_at": at, "valid": reason == nil, "reason": reason?.rawValue ?? NSNull(),
            ])
        }
        var bytes = Base64URL.decode(firstToken)!
        func variant(_ name: String, _ token: String, _ reason: VerifyReason) {
            vectors.append(["name": name, "token": token, "verify_at": issuedAt + 100, "valid": false, "reason": reason.rawValue])
        }
        var flipped = bytes
        flipped[22] ^= 0x01
        variant("client ID bit flipped", Base64URL.encode(flipped), .badSignature)
        flipped = bytes
        flipped[flipped.count - 1] ^= 0x80
        variant("tag bit flipped", Base64URL.encode(flipped), .badSignature)
        flipped = bytes
        flipped[1...4] = [0x0a, 0x0b, 0x0c, 0x0e]
        variant("key ID changed to one the ring lacks", Base64URL.encode(flipped), .unknownKey)
        flipped = bytes
        flipped[0] = 0x02
        variant("version 2", Base64URL.encode(flipped), .unsupportedVersion)
        variant("truncated by three characters (no base64url string has this length)", String(firstToken.dropLast(3)), .malformed)
        variant("padded", firstToken + "==", .malformed)
        variant("standard base64 alphabet", firstToken.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + (firstToken.contains(where: { $0 == "-" || $0 == "_" }) ? "" : "+"), .malformed)
        variant("over 512 characters", String(repeating: "A", count: 513), .malformed)
        bytes.append(0)
        variant("one byte appended", Base64URL.encode(bytes), .badSignature)
        return vectors
    }

    static func document() throws -> [String: Any] {
        [
            "description": "PortalLinks token format v1 test vectors. Sign the vectors that have fields with the named key and compare the token; verify every vector at verify_at against the ring in keys, with leeway_seconds, and compare valid, reason and link_id.",
            "purpose_label": Purpose.link.label,
            "leeway_seconds": 60,
            "keys": keys.map { ["key_id": $0.id, "secret_hex": $0.secret, "state": $0.state.rawValue, "verifies_until": $0.verifiesUntil ?? NSNull()] as [String: Any] },
            "vectors": try vectors(),
        ]
    }

    @Test func committedVectorsMatchThisImplementation() throws {
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let expected = try JSONSerialization.data(withJSONObject: try Self.document(), options: options)
        if ProcessInfo.processInfo.environment["PORTAL_LINKS_RECORD_GOLDEN"] == "1" {
            try expected.write(to: Self.fileURL)
        }
        // Compared after a round trip through the parser, so that formatting of the file does not matter.
        let committed = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: Data(contentsOf: Self.fileURL)),
                                                   options: options)
        let reparsed = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: expected), options: options)
        #expect(committed == reparsed, "golden_tokens.json differs from what this code produces")
    }

    @Test func everyVectorVerifiesAsRecorded() throws {
        let verifier = Self.verifier()
        for vector in try Self.vectors() {
            let token = vector["token"] as! String
            let result = verifier.verify(token, at: vector["verify_at"] as! Int64)
            #expect(result.isValid == vector["valid"] as! Bool, "\(vector["name"]!)")
            #expect(result.reason?.rawValue == vector["reason"] as? String, "\(vector["name"]!)")
            if let linkID = vector["link_id"] as? String, result.linkID != nil {
                #expect(result.linkID?.description == linkID)
            }
        }
    }
}
