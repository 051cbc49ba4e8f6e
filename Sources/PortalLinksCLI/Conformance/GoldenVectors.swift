import Foundation
import PortalLinks
import PortalLinksCore

/// Protos/testdata/golden_tokens.json: a ring of three keys with public secrets and tokens to verify against it.
struct GoldenVectors: Decodable {
    struct Key: Decodable {
        let keyID: String
        let secretHex: String
        let state: String
        let verifiesUntil: Int64?

        enum CodingKeys: String, CodingKey {
            case keyID = "key_id", secretHex = "secret_hex", state, verifiesUntil = "verifies_until"
        }
    }

    struct Vector: Decodable {
        let name: String
        let token: String
        let verifyAt: Int64
        let valid: Bool
        let reason: String?
        let linkID: String?
        let clientID: String?
        let displayName: String?
        let keyID: String?
        let issuedAt: Int64?
        let expiresAt: Int64?

        enum CodingKeys: String, CodingKey {
            case name, token, verifyAt = "verify_at", valid, reason, linkID = "link_id", clientID = "client_id",
                 displayName = "display_name", keyID = "key_id", issuedAt = "issued_at", expiresAt = "expires_at"
        }
    }

    enum CodingKeys: String, CodingKey { case keys, leewaySeconds = "leeway_seconds", vectors }

    let keys: [Key]
    let leewaySeconds: Int64
    let vectors: [Vector]

    static func load(path: String) throws -> GoldenVectors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PortalLinksError(.invalidInput, "cannot read the test vectors \(path)")
        }
        do {
            return try JSONDecoder().decode(GoldenVectors.self, from: data)
        } catch {
            throw PortalLinksError(.invalidInput, "\(path) is not a test-vector file: \(error)")
        }
    }

    func knownKeys() throws -> [KnownKey] {
        try keys.map { key in
            guard let id = KeyID(parsing: key.keyID), let secret = Hex.decode(key.secretHex), let state = KeyState(rawValue: key.state) else {
                throw PortalLinksError(.invalidInput, "test-vector key \(key.keyID) has a bad ID, secret or state")
            }
            return KnownKey(id: id, secret: secret, state: state, verifiesUntil: key.verifiesUntil)
        }
    }
}
