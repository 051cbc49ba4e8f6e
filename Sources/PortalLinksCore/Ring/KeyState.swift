/// Where a signing key is in its life.
///
/// ```
/// staged ──promote──▶ primary ──rotate──▶ retiring ──(its last link expires)──▶ expired
///    │                   │ rotate --emergency           │                           │
///    └──disable──▶ disabled ◀────────────────────────────┴───────────disable──────────┘
///                     │ enable: back to the state it left
///  disabled, expired ──destroy──▶ destroyed (material zeroed)
/// ```
public enum KeyState: String, Sendable, CaseIterable, Codable {
    /// Verifies, does not sign: added ahead of a rotation so every verifier knows it first.
    case staged
    /// Signs and verifies. Exactly one key is primary once the ring has any key.
    case primary
    /// Verifies the links it signed until they have all expired.
    case retiring
    /// Retired and past its last link's expiry: verifies nothing.
    case expired
    /// Refuses its links; reversible with enable.
    case disabled
    /// Material zeroed; the ID stays reserved.
    case destroyed

    /// Whether links signed by a key in this state can be valid.
    public var verifies: Bool {
        switch self {
        case .staged, .primary, .retiring: true
        case .expired, .disabled, .destroyed: false
        }
    }
}
