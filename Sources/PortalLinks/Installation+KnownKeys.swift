import PortalLinksCore
import PortalLinksStore

/// A key whose material is given rather than generated: the published test vectors' keys.
package struct KnownKey: Sendable {
    package let id: KeyID
    package let secret: [UInt8]
    /// primary, retiring or disabled.
    package let state: KeyState
    /// For a retiring key: the expiry of the last link it signed.
    package let verifiesUntil: Int64?

    package init(id: KeyID, secret: [UInt8], state: KeyState, verifiesUntil: Int64?) {
        self.id = id
        self.secret = secret
        self.state = state
        self.verifiesUntil = verifiesUntil
    }
}

extension Installation {
    /// Fills an empty ring with keys of known material, in the states given, in one change. Only for
    /// conformance servers over the published test vectors: a ring whose secrets are public signs nothing real.
    package func installKnownKeys(_ keys: [KnownKey]) async throws {
        for key in keys where ![.primary, .retiring, .disabled].contains(key.state) {
            throw PortalLinksError(.invalidInput, "known key \(key.id) is \(key.state.rawValue); give primary, retiring or disabled")
        }
        guard keys.filter({ $0.state == .primary }).count == 1 else {
            throw PortalLinksError(.invalidInput, "known keys need exactly one primary")
        }
        let now = clock()
        let sealed = keys.map { masterKey.seal($0.secret, context: KeyRecord.sealingContext(for: $0.id)) }
        _ = try await store.updateRing(actor: actor, at: now) { ring, _ in
            guard ring.keys.isEmpty else { throw PortalLinksError(.conflict, "known keys go only into an empty ring") }
            // Each promotion retires the key before it, verifying until the expiry given for that key.
            var previousExpiry: Int64?
            let retiring = keys.indices.filter { keys[$0].state == .retiring }
            let primary = keys.indices.filter { keys[$0].state == .primary }
            for index in retiring + primary {
                try ring.add(id: keys[index].id, sealedSecret: sealed[index], at: now)
                try ring.promote(keys[index].id, at: now, lastSignedExpiry: previousExpiry)
                previousExpiry = keys[index].verifiesUntil
            }
            for index in keys.indices where keys[index].state == .disabled {
                try ring.add(id: keys[index].id, sealedSecret: sealed[index], at: now)
                try ring.disable(keys[index].id, at: now)
            }
            return [AuditEvent("key.install", "\(keys.count) known keys")]
        }
    }
}
