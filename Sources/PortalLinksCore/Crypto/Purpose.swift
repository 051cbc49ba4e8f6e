/// What a signature is for. The label is absorbed into every tag, so the same key material can sign
/// several kinds of token without one ever being accepted as another.
public struct Purpose: Hashable, Sendable {
    public let label: String

    public init(label: String) { self.label = label }

    /// Invitation links (token format v1).
    public static let link = Purpose(label: "portal-links/link/v1")
    /// Session tokens handed out at sign-in.
    public static let session = Purpose(label: "portal-links/session/v1")
    /// Password-reset tokens.
    public static let passwordReset = Purpose(label: "portal-links/password-reset/v1")
}
