/// What a session token says: whose session it is, since when, and until when it may be used without a
/// refresh. Signed like links, under the session purpose, and checked with no store lookup.
public struct SessionClaims: Sendable, Equatable {
    public var keyID: KeyID
    public var accountID: Int64
    public var clientID: ClientID
    /// Random; names the session for sign-out.
    public var sessionID: UInt64
    /// The account's epoch at sign-in. A password change, a reset, disabling or moving the account raises
    /// the epoch, which ends every session signed in before.
    public var epoch: Int64
    /// The sign-in this session comes from: refreshes keep it, so the absolute limit counts from here.
    public var signedInAt: Int64
    /// The idle deadline: the token is refused after it; a refresh hands out a token with a later one.
    public var expiresAt: Int64

    public init(keyID: KeyID, accountID: Int64, clientID: ClientID, sessionID: UInt64, epoch: Int64, signedInAt: Int64,
                expiresAt: Int64) {
        self.keyID = keyID
        self.accountID = accountID
        self.clientID = clientID
        self.sessionID = sessionID
        self.epoch = epoch
        self.signedInAt = signedInAt
        self.expiresAt = expiresAt
    }

    static let kind = UInt8(ascii: "S")

    public func sign(with key: HMACKey) -> String {
        var fields: [UInt8] = []
        LinkToken.appendBigEndian(UInt64(bitPattern: accountID), bytes: 8, to: &fields)
        LinkToken.appendBigEndian(sessionID, bytes: 8, to: &fields)
        LinkToken.appendBigEndian(UInt64(bitPattern: epoch), bytes: 8, to: &fields)
        LinkToken.appendBigEndian(UInt64(bitPattern: signedInAt), bytes: 8, to: &fields)
        LinkToken.appendBigEndian(UInt64(bitPattern: expiresAt), bytes: 8, to: &fields)
        let client = Array(clientID.description.utf8)
        fields.append(UInt8(client.count))
        fields += client
        return FixedToken.sign(kind: Self.kind, keyID: keyID, fields: fields, with: key)
    }

    /// The claims of a well-formed session token and its tag, before the tag is checked.
    static func open(_ token: String) -> (claims: SessionClaims, message: [UInt8], tag: [UInt8])? {
        guard let (keyID, message, tag) = FixedToken.open(token, kind: kind) else { return nil }
        var reader = FieldReader(message, from: 5)
        guard let account = reader.int64(), let session = reader.uint64(), let epoch = reader.int64(), let signedIn = reader.int64(),
              let expires = reader.int64(), let clientText = reader.text(), reader.isAtEnd,
              let client = try? ClientID(parsing: clientText) else { return nil }
        return (SessionClaims(keyID: keyID, accountID: account, clientID: client, sessionID: session, epoch: epoch,
                              signedInAt: signedIn, expiresAt: expires), message, tag)
    }
}

/// What a password-reset token says. It names the account's epoch, which the reset raises, so it works once
/// (and not at all after a password change, disabling or moving the account).
public struct PasswordResetClaims: Sendable, Equatable {
    public var keyID: KeyID
    public var accountID: Int64
    public var epoch: Int64
    public var expiresAt: Int64

    public init(keyID: KeyID, accountID: Int64, epoch: Int64, expiresAt: Int64) {
        self.keyID = keyID
        self.accountID = accountID
        self.epoch = epoch
        self.expiresAt = expiresAt
    }

    static let kind = UInt8(ascii: "R")

    public func sign(with key: HMACKey) -> String {
        var fields: [UInt8] = []
        LinkToken.appendBigEndian(UInt64(bitPattern: accountID), bytes: 8, to: &fields)
        LinkToken.appendBigEndian(UInt64(bitPattern: epoch), bytes: 8, to: &fields)
        LinkToken.appendBigEndian(UInt64(bitPattern: expiresAt), bytes: 8, to: &fields)
        return FixedToken.sign(kind: Self.kind, keyID: keyID, fields: fields, with: key)
    }

    static func open(_ token: String) -> (claims: PasswordResetClaims, message: [UInt8], tag: [UInt8])? {
        guard let (keyID, message, tag) = FixedToken.open(token, kind: kind) else { return nil }
        var reader = FieldReader(message, from: 5)
        guard let account = reader.int64(), let version = reader.int64(), let expires = reader.int64(), reader.isAtEnd
        else { return nil }
        return (PasswordResetClaims(keyID: keyID, accountID: account, epoch: version, expiresAt: expires), message, tag)
    }
}
