/// Revoked links, revoked clients and disabled clients: small enough to sit in every verifier's memory,
/// so that checking a link never needs a lookup elsewhere.
public struct Revocations: Sendable {
    /// Revoked link IDs.
    public var links: RevokedLinks
    /// Links of these clients issued before the given time (Unix seconds) are refused.
    public var clientsRevokedBefore: [ClientID: Int64]
    public var disabledClients: Set<ClientID>

    public init(links: RevokedLinks = [], clientsRevokedBefore: [ClientID: Int64] = [:], disabledClients: Set<ClientID> = []) {
        self.links = links
        self.clientsRevokedBefore = clientsRevokedBefore
        self.disabledClients = disabledClients
    }

    public static let none = Revocations()
}
