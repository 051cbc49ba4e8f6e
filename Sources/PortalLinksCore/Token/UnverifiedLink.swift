/// The fields of a token read without checking its tag, for troubleshooting only: nothing here is to be
/// trusted until a `LinkVerifier` has accepted the token.
public struct UnverifiedLink: Sendable {
    public let byteCount: Int
    public let version: UInt8
    /// Present when the token is long enough to hold the v1 header.
    public let keyID: KeyID?
    /// Present when the v1 layout parses completely.
    public let claims: LinkClaims?
    /// Read from the tag's position; meaningful only once the tag is checked.
    public let linkID: LinkID?

    /// Nil when `token` is not strict base64url within the length bound, or is empty.
    public init?(decoding token: String) {
        guard token.utf8.count <= LinkToken.maximumCharacters, let bytes = Base64URL.decode(token), !bytes.isEmpty else {
            return nil
        }
        byteCount = bytes.count
        version = bytes[0]
        guard version == LinkToken.version, bytes.count >= LinkToken.minimumCount else {
            keyID = nil
            claims = nil
            linkID = nil
            return
        }
        (keyID, claims, linkID) = bytes.withUnsafeBytes { buffer in
            let messageCount = buffer.count - LinkToken.tagCount
            return (KeyID(rawValue: LinkToken.readUInt32(buffer, at: 1)),
                    LinkToken.parseFields(UnsafeRawBufferPointer(rebasing: buffer[..<messageCount]))?.owned,
                    LinkToken.linkIDFromTag(UnsafeRawBufferPointer(rebasing: buffer[messageCount...])))
        }
    }
}
