/// The key ring's state machine over stored records. Pure: every change takes the time as a parameter and
/// either applies completely or throws `PortalLinksError` and leaves the ring untouched.
public struct KeyRing: Sendable, Equatable {
    public private(set) var keys: [KeyRecord]

    public init(keys: [KeyRecord]) { self.keys = keys.sorted { $0.createdAt == $1.createdAt ? $0.id < $1.id : $0.createdAt < $1.createdAt } }

    public var primary: KeyRecord? { keys.first { $0.state == .primary } }

    public func key(_ id: KeyID) -> KeyRecord? { keys.first { $0.id == id } }

    /// A retiring key becomes expired on its own once the last expiry of what it signed and the leeway have passed.
    public static func effectiveState(_ state: KeyState, verifiesUntil: Int64?, at now: Int64, leeway: Int64) -> KeyState {
        if state == .retiring, let verifiesUntil, now > verifiesUntil + leeway { return .expired }
        return state
    }

    public func effectiveState(of key: KeyRecord, at now: Int64, leeway: Int64 = LinkVerifier.defaultLeeway) -> KeyState {
        Self.effectiveState(key.state, verifiesUntil: key.verifiesUntil, at: now, leeway: leeway)
    }

    /// Adds a staged key. `id` must never have been used in this ring, destroyed keys included.
    public mutating func add(id: KeyID, sealedSecret: [UInt8], at now: Int64) throws(PortalLinksError) {
        guard key(id) == nil else { throw PortalLinksError(.conflict, "key ID \(id) is already taken") }
        keys.append(KeyRecord(id: id, state: .staged, createdAt: now, sealedSecret: sealedSecret))
    }

    /// Makes a staged key primary; the old primary retires, verifying until `lastSignedExpiry`: the latest expiry of
    /// anything it signed (links, sessions, reset tokens; `Installation.lastSignedExpiry`). With `emergency`, the
    /// old primary is disabled instead and everything it signed stops working.
    public mutating func promote(_ id: KeyID, at now: Int64, lastSignedExpiry: Int64?, emergency: Bool = false)
        throws(PortalLinksError)
    {
        let index = try indexOf(id)
        guard keys[index].state == .staged else {
            throw PortalLinksError(.conflict, "key \(id) is \(keys[index].state.rawValue); only a staged key can be promoted")
        }
        if let old = keys.firstIndex(where: { $0.state == .primary }) {
            keys[old].retiredAt = now
            keys[old].verifiesUntil = max(lastSignedExpiry ?? now, now)
            if emergency {
                keys[old].state = .disabled
                keys[old].stateBeforeDisable = .retiring
            } else {
                keys[old].state = .retiring
            }
        }
        keys[index].state = .primary
        keys[index].promotedAt = now
    }

    /// Adds a new key and promotes it in one step.
    public mutating func rotate(newID: KeyID, sealedSecret: [UInt8], at now: Int64, lastSignedExpiry: Int64?,
                                emergency: Bool) throws(PortalLinksError) {
        var next = self
        try next.add(id: newID, sealedSecret: sealedSecret, at: now)
        try next.promote(newID, at: now, lastSignedExpiry: lastSignedExpiry, emergency: emergency)
        self = next
    }

    /// Disables any key but the primary: its links are refused until it is enabled again.
    public mutating func disable(_ id: KeyID, at now: Int64, leeway: Int64 = LinkVerifier.defaultLeeway)
        throws(PortalLinksError)
    {
        let index = try indexOf(id)
        let state = effectiveState(of: keys[index], at: now, leeway: leeway)
        switch state {
        case .staged, .retiring, .expired:
            keys[index].stateBeforeDisable = state
            keys[index].state = .disabled
        case .primary:
            throw PortalLinksError(.conflict,
                               "key \(id) is the primary and cannot be disabled; use 'keys rotate --emergency' to replace and disable it")
        case .disabled, .destroyed:
            throw PortalLinksError(.conflict, "key \(id) is already \(state.rawValue)")
        }
    }

    /// Returns a disabled key to the state it was disabled from.
    public mutating func enable(_ id: KeyID, at now: Int64, leeway: Int64 = LinkVerifier.defaultLeeway)
        throws(PortalLinksError)
    {
        let index = try indexOf(id)
        guard keys[index].state == .disabled else {
            throw PortalLinksError(.conflict, "key \(id) is \(effectiveState(of: keys[index], at: now, leeway: leeway).rawValue), not disabled")
        }
        keys[index].state = keys[index].stateBeforeDisable ?? .staged
        keys[index].stateBeforeDisable = nil
    }

    /// Zeroes a disabled or expired key's material for good.
    public mutating func destroy(_ id: KeyID, at now: Int64, leeway: Int64 = LinkVerifier.defaultLeeway)
        throws(PortalLinksError)
    {
        let index = try indexOf(id)
        let state = effectiveState(of: keys[index], at: now, leeway: leeway)
        guard state == .disabled || state == .expired else {
            throw PortalLinksError(.conflict, "key \(id) is \(state.rawValue); only a disabled or expired key can be destroyed")
        }
        keys[index].state = .destroyed
        keys[index].stateBeforeDisable = nil
        keys[index].sealedSecret = nil
    }

    /// Records retiring keys past their window as expired and destroys expired keys' material.
    /// Returns the IDs of the keys destroyed.
    public mutating func prune(at now: Int64, leeway: Int64 = LinkVerifier.defaultLeeway) -> [KeyID] {
        var destroyed: [KeyID] = []
        for index in keys.indices where effectiveState(of: keys[index], at: now, leeway: leeway) == .expired {
            keys[index].state = .destroyed
            keys[index].sealedSecret = nil
            destroyed.append(keys[index].id)
        }
        return destroyed
    }

    private func indexOf(_ id: KeyID) throws(PortalLinksError) -> Int {
        guard let index = keys.firstIndex(where: { $0.id == id }) else {
            throw PortalLinksError(.notFound, "no key \(id) in the ring")
        }
        return index
    }
}
