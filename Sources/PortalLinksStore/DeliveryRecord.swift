import PortalLinksCore

/// How emailing a link to one address went, the latest attempt: `sent` with the server's reply, or `failed`
/// with the reason. Never the message, so never the token.
public struct DeliveryRecord: Sendable, Equatable {
    public var linkID: LinkID
    public var address: String
    /// `sent` or `failed`.
    public var state: String
    public var detail: String
    public var at: Int64

    public init(linkID: LinkID, address: String, state: String, detail: String, at: Int64) {
        self.linkID = linkID
        self.address = address
        self.state = state
        self.detail = detail
        self.at = at
    }
}
