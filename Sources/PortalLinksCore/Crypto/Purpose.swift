/// What a signature is for. The label is absorbed into every tag, so the same key material can sign
/// several kinds of token without one ever being accepted as another.
public struct Purpose: Hashable, Sendable {
    public let label: String

    public init(label: String) { self.label = label }

    /// Invitation links (token format v1).
    public static let link = Purpose(label: "portal-links/link/v1")
}
