import Foundation
import PortalLinks
import PortalLinksCore

/// The state a conformance server serves: the test vectors' ring, callers with chosen scopes, and links refused
/// for reasons that depend on the store (revoked link, revoked client, disabled client) or on time passing
/// (a retired key past its last link).
struct ConformanceFixture {
    /// One link a client library must verify over the wire, on the server whose clock reads `at`.
    struct Case: Encodable {
        let name: String
        let token: String
        let at: Int64
        let valid: Bool
        let reason: String?
        /// Given for valid links only: what the answer must carry.
        var linkID: String? = nil
        var clientID: String? = nil
        var displayName: String? = nil
        var keyID: String? = nil
        var issuedAt: Int64? = nil
        var expiresAt: Int64? = nil
    }

    struct APIKeys: Encodable {
        /// Scopes verify, issue and accounts.
        let all: String
        /// Scope verify only: account calls are PERMISSION_DENIED.
        let verifyOnly: String
    }

    /// A link valid at `mainTime` that any number of accounts may register through.
    struct RegistrationLink: Encodable {
        let token: String
        let clientID: String
        let displayName: String
    }

    let mainTime: Int64
    let cases: [Case]
    let apiKeys: APIKeys
    let registrationLink: RegistrationLink

    /// Distinct clock readings the cases need, the main one first.
    var times: [Int64] { [mainTime] + Set(cases.map(\.at)).subtracting([mainTime]).sorted() }

    /// Builds the fixture in `installation`, whose store must be new.
    static func build(in installation: Installation, vectors: GoldenVectors) async throws -> ConformanceFixture {
        guard let first = vectors.vectors.first(where: \.valid), let expiresAt = first.expiresAt else {
            throw PortalLinksError(.invalidInput, "the test vectors have no valid link to take the time from")
        }
        let mainTime = first.verifyAt
        let knownKeys = try vectors.knownKeys()
        let earliest = vectors.vectors.map(\.verifyAt).min()! - 86_400
        try await installation.with(clock: { earliest }).installKnownKeys(knownKeys)

        var cases = vectors.vectors.map { vector in
            Case(name: vector.name, token: vector.token, at: vector.verifyAt, valid: vector.valid, reason: vector.reason,
                 linkID: vector.valid ? vector.linkID : nil, clientID: vector.valid ? vector.clientID : nil,
                 displayName: vector.valid ? vector.displayName ?? "" : nil, keyID: vector.valid ? vector.keyID : nil,
                 issuedAt: vector.valid ? vector.issuedAt : nil, expiresAt: vector.valid ? vector.expiresAt : nil)
        }

        // Links refused because of what staff did, signed by the primary a moment before the main time.
        let staff = installation.with(clock: { mainTime - 50 }).acting(as: "conformance")
        let primary = knownKeys.first { $0.state == .primary }!
        func sign(_ client: String, with key: KnownKey, expiresAt: Int64) throws -> (String, LinkID) {
            let claims = try LinkClaims(keyID: key.id, issuedAt: mainTime - 100, expiresAt: expiresAt,
                                        clientID: ClientID(parsing: client), displayName: nil)
            return LinkToken.sign(claims, with: HMACKey(secret: key.secret, purpose: .link))
        }
        let (revokedLink, revokedLinkID) = try sign("acme", with: primary, expiresAt: expiresAt)
        try await staff.revokeLink(revokedLinkID)
        cases.append(Case(name: "link revoked", token: revokedLink, at: mainTime, valid: false, reason: VerifyReason.linkRevoked.rawValue))
        let (clientRevoked, _) = try sign("revoked-client", with: primary, expiresAt: expiresAt)
        try await staff.revokeClient(try ClientID(parsing: "revoked-client"))
        cases.append(Case(name: "client revoked", token: clientRevoked, at: mainTime, valid: false, reason: VerifyReason.clientRevoked.rawValue))
        let (clientDisabled, _) = try sign("disabled-client", with: primary, expiresAt: expiresAt)
        try await staff.setClient(try ClientID(parsing: "disabled-client"), disabled: true)
        cases.append(Case(name: "client disabled", token: clientDisabled, at: mainTime, valid: false, reason: VerifyReason.clientDisabled.rawValue))

        // A retiring key verifies until its last link's expiry plus the leeway; a link that outlives that is
        // refused for the key, not for its own expiry.
        if let retiring = knownKeys.first(where: { $0.state == .retiring }), let until = retiring.verifiesUntil {
            let (token, _) = try sign("acme", with: retiring, expiresAt: until + 30 * 86_400)
            cases.append(Case(name: "retired key past its last link", token: token, at: until + vectors.leewaySeconds + 1,
                              valid: false, reason: VerifyReason.keyExpired.rawValue))
        }

        let apiKeys = APIKeys(all: try await staff.addCaller(named: "conformance", scopes: [.verify, .issue, .accounts]),
                              verifyOnly: try await staff.addCaller(named: "conformance-verify-only", scopes: [.verify]))
        let registration = try await staff.issue(IssueRequest(clientID: .text("acme"), displayName: "Acme Corp"))
        return ConformanceFixture(mainTime: mainTime, cases: cases, apiKeys: apiKeys,
                                  registrationLink: RegistrationLink(token: registration.token, clientID: "acme", displayName: "Acme Corp"))
    }
}
