/// What a link says, all of it covered by its tag. Times are Unix seconds.
public struct LinkClaims: Hashable, Sendable {
    public var keyID: KeyID
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// Random by default; tells apart links whose other fields are equal.
    public var nonce: UInt16
    public var clientID: ClientID
    public var displayName: String?

    public init(keyID: KeyID, issuedAt: Int64, expiresAt: Int64, nonce: UInt16 = .random(in: .min ... .max),
                clientID: ClientID, displayName: String? = nil) throws(PortalLinksError)
    {
        guard issuedAt >= 0, issuedAt <= Int64(UInt32.max), expiresAt > issuedAt, expiresAt <= Int64(UInt32.max) else {
            throw PortalLinksError(.invalidInput, "a link must expire after it is issued, before the year 2106")
        }
        var canonicalName: String?
        if let displayName {
            guard let name = TextField.displayName(displayName) else {
                throw PortalLinksError(.invalidInput, TextField.displayNameRule)
            }
            canonicalName = name
        }
        self.init(trusted: keyID, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce, clientID: clientID.canonical,
                  displayName: canonicalName)
    }

    /// Builds claims from fields already checked by a tag, skipping the validation above.
    init(trusted keyID: KeyID, issuedAt: Int64, expiresAt: Int64, nonce: UInt16, clientID: ClientID, displayName: String?) {
        self.keyID = keyID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.nonce = nonce
        self.clientID = clientID
        self.displayName = displayName
    }
}
