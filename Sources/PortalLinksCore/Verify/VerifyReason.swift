/// Why a link was refused. The raw values appear in the CLI's JSON and, as an enum, on the wire.
public enum VerifyReason: String, Sendable, CaseIterable, Codable {
    /// Too long, not strict base64url, or a broken layout.
    case malformed = "malformed"
    case unsupportedVersion = "unsupported_version"
    /// No key with this ID is in the ring.
    case unknownKey = "unknown_key"
    /// The key was disabled, for example by an emergency rotation, or destroyed.
    case keyDisabled = "key_disabled"
    /// The key was retired and every link it signed has expired.
    case keyExpired = "key_expired"
    case badSignature = "bad_signature"
    case expired = "expired"
    case notYetValid = "not_yet_valid"
    case linkRevoked = "link_revoked"
    case clientRevoked = "client_revoked"
    case clientDisabled = "client_disabled"
}
