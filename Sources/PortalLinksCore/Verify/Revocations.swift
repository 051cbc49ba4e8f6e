/// Revoked links, revoked clients and disabled clients: small enough to sit in every verifier's memory,
/// so that checking a link never needs a lookup elsewhere.
public struct Revocations: Sendable {
    /// Revoked link IDs.
    public var links: Set<LinkID>
    /// Links of these clients issued before the given time (Unix seconds) are refused.
    public var clientsRevokedBefore: [ClientID: Int64]
    public var disabledClients: Set<ClientID>

    public init(links: Set<LinkID> = [], clientsRevokedBefore: [ClientID: Int64] = [:], disabledClients: Set<ClientID> = []) {
        self.links = links
        self.clientsRevokedBefore = clientsRevokedBefore
        self.disabledClients = disabledClients
    }

    public static let none = Revocations()

    func reason(for claims: LinkClaims, linkID: LinkID) -> VerifyReason? {
        if !links.isEmpty, links.contains(linkID) { return .linkRevoked }
        if !clientsRevokedBefore.isEmpty, let before = clientsRevokedBefore[claims.clientID], claims.issuedAt < before {
            return .clientRevoked
        }
        if !disabledClients.isEmpty, disabledClients.contains(claims.clientID) { return .clientDisabled }
        return nil
    }
}
