import PortalLinksCore

extension Installation {
    /// Links for a load test of the verify service, all for `client`: `count` valid ones, issued like any other
    /// (ledger and audit log) for `lifetime` seconds, and `count` that expired an hour ago, signed with the
    /// primary key but never valid, so not recorded.
    public func loadTestTokens(count: Int, client: ClientID = .text("portal-links-bench"),
                               lifetime: Int64 = 3_600) async throws -> (valid: [String], expired: [String]) {
        let now = clock()
        let issued = try await issue(Array(repeating: IssueRequest(clientID: client, expiresAt: now + lifetime), count: count))
        let valid = try issued.map { try $0.get().token }
        let primary = try await primaryKeyRecord()
        guard let key = try hmacKey(for: primary) else {
            throw PortalLinksError(.conflict, "the primary key \(primary.id) has no material")
        }
        let expired = try (0..<count).map { _ in
            LinkToken.sign(try LinkClaims(keyID: primary.id, issuedAt: now - 7_200, expiresAt: now - 3_600, clientID: client),
                           with: key).token
        }
        return (valid, expired)
    }
}
