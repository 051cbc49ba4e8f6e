import PortalLinksCore

/// One issued link as the ledger keeps it. The token itself is never stored: it can be re-derived only with the key.
public struct LedgerEntry: Sendable, Equatable {
    public var linkID: LinkID
    public var clientID: ClientID
    public var displayName: String?
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var keyID: KeyID
    public var sentTo: [String]
    public var issuedBy: String
    /// How many accounts may register through the link; nil for no cap.
    public var maximumAccounts: Int?
    /// The link this one was issued to replace (`links resend`, `links renew`).
    public var replaces: LinkID?

    public init(linkID: LinkID, clientID: ClientID, displayName: String?, issuedAt: Int64, expiresAt: Int64,
                keyID: KeyID, sentTo: [String], issuedBy: String, maximumAccounts: Int? = nil, replaces: LinkID? = nil) {
        self.maximumAccounts = maximumAccounts
        self.replaces = replaces
        self.linkID = linkID
        self.clientID = clientID
        self.displayName = displayName
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.keyID = keyID
        self.sentTo = sentTo
        self.issuedBy = issuedBy
    }
}
