/// One key of the ring as it is stored: its state and its material sealed under the master key.
public struct KeyRecord: Sendable, Equatable {
    public var id: KeyID
    public var state: KeyState
    /// For a disabled key: the state that enable returns it to.
    public var stateBeforeDisable: KeyState?
    public var createdAt: Int64
    /// When it became primary.
    public var promotedAt: Int64?
    /// When it stopped being primary.
    public var retiredAt: Int64?
    /// For a key that has been primary: the expiry of the last link it signed. It verifies until then (plus leeway).
    public var verifiesUntil: Int64?
    /// The secret sealed with `MasterKey.seal(_:context:)`; nil once destroyed.
    public var sealedSecret: [UInt8]?

    public init(id: KeyID, state: KeyState, stateBeforeDisable: KeyState? = nil, createdAt: Int64, promotedAt: Int64? = nil,
                retiredAt: Int64? = nil, verifiesUntil: Int64? = nil, sealedSecret: [UInt8]?) {
        self.id = id
        self.state = state
        self.stateBeforeDisable = stateBeforeDisable
        self.createdAt = createdAt
        self.promotedAt = promotedAt
        self.retiredAt = retiredAt
        self.verifiesUntil = verifiesUntil
        self.sealedSecret = sealedSecret
    }

    /// The context a key's material is sealed with, so that sealed material moved to another key's row fails to open.
    public static func sealingContext(for id: KeyID) -> [UInt8] { Array("portal-links key ".utf8) + id.bigEndianBytes }
}
