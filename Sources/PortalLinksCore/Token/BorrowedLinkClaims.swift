/// A client ID as it lies in a decoded token: a UUID, or the bytes of a text ID.
public enum BorrowedClientID {
    case uuid(UUIDBytes)
    /// Valid UTF-8, and only for as long as the token's bytes are.
    case text(UnsafeRawBufferPointer)

    public var owned: ClientID {
        switch self {
        case .uuid(let uuid): .uuid(uuid)
        case .text(let bytes): .text(String(decoding: bytes, as: UTF8.self))
        }
    }
}

/// What a link says, read in place from its decoded bytes: the same fields as `LinkClaims`, with text left
/// where it lies, so that checking a link with a long client ID or display name builds no string. Valid only
/// inside the call that hands it out.
public struct BorrowedLinkClaims {
    public let keyID: KeyID
    public let issuedAt: Int64
    public let expiresAt: Int64
    public let nonce: UInt16
    public let clientID: BorrowedClientID
    /// Valid UTF-8, when the link has a display name.
    public let displayName: UnsafeRawBufferPointer?

    /// A copy that owns its text.
    public var owned: LinkClaims {
        LinkClaims(trusted: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce, clientID: clientID.owned,
                   displayName: displayName.map { String(decoding: $0, as: UTF8.self) })
    }
}

extension LinkClaims {
    /// Hands `body` these claims in borrowed form, their text still in the strings' own storage.
    public func withBorrowed<Result>(_ body: (BorrowedLinkClaims) -> Result) -> Result {
        func withText<R>(_ text: String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
            guard var text else { return body(nil) }
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        return withText(clientID.textValue) { clientText in
            withText(displayName) { name in
                let client: BorrowedClientID = switch clientID {
                case .uuid(let uuid): .uuid(uuid)
                case .text: .text(clientText!)
                }
                return body(BorrowedLinkClaims(keyID: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce,
                                               clientID: client, displayName: name))
            }
        }
    }
}

extension ClientID {
    var textValue: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}
