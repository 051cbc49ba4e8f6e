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

    func with(clientID: BorrowedClientID) -> BorrowedLinkClaims {
        BorrowedLinkClaims(keyID: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce, clientID: clientID,
                           displayName: displayName)
    }

    /// A copy that owns its text.
    public var owned: LinkClaims {
        LinkClaims(trusted: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce, clientID: clientID.owned,
                   displayName: displayName.map { String(decoding: $0, as: UTF8.self) })
    }
}

extension LinkClaims {
    /// Hands `body` these claims in borrowed form, their text still in the strings' own storage.
    public func withBorrowed<Result>(_ body: (BorrowedLinkClaims) -> Result) -> Result {
        func withClient(_ client: BorrowedClientID) -> Result {
            func claims(_ name: UnsafeRawBufferPointer?) -> BorrowedLinkClaims {
                BorrowedLinkClaims(keyID: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce, clientID: client,
                                   displayName: name)
            }
            guard var name = displayName else { return body(claims(nil)) }
            return name.withUTF8 { body(claims(UnsafeRawBufferPointer($0))) }
        }
        switch clientID {
        case .uuid(let uuid): return withClient(.uuid(uuid))
        case .text(var text): return text.withUTF8 { withClient(.text(UnsafeRawBufferPointer($0))) }
        }
    }
}
