import PortalLinksCore
import PortalLinksStore

extension Installation {
    public static let keySecretCount = 32

    public func ring() async throws -> KeyRing { try await store.ring().ring }

    /// Adds a staged key; returns its ID.
    @discardableResult
    public func addKey() async throws -> KeyID {
        let now = clock()
        let (id, sealed) = newKeyMaterial()
        _ = try await store.updateRing(actor: actor, at: now) { ring, _ in
            try ring.add(id: try Self.unused(id, in: ring), sealedSecret: sealed, at: now)
            return [AuditEvent("key.add", "key \(id)")]
        }
        return id
    }

    public func promoteKey(_ id: KeyID) async throws {
        let now = clock()
        _ = try await store.updateRing(actor: actor, at: now) { ring, context in
            let old = ring.primary?.id
            try ring.promote(id, at: now, lastSignedExpiry: lastSignedExpiry(lastLinkExpiry: context.primaryLastLinkExpiry, at: now))
            return [AuditEvent("key.promote", "key \(id)" + (old.map { " retiring \($0)" } ?? ""))]
        }
    }

    /// Adds a key and makes it primary at once. The old primary retires, or with `emergency` is disabled
    /// so that every link it signed stops working. Returns the new primary's ID.
    @discardableResult
    public func rotateKeys(emergency: Bool = false) async throws -> KeyID {
        let now = clock()
        let (id, sealed) = newKeyMaterial()
        _ = try await store.updateRing(actor: actor, at: now) { ring, context in
            let old = ring.primary?.id
            try ring.rotate(newID: try Self.unused(id, in: ring), sealedSecret: sealed, at: now,
                            lastSignedExpiry: lastSignedExpiry(lastLinkExpiry: context.primaryLastLinkExpiry, at: now),
                            emergency: emergency)
            let detail = old.map { emergency ? " disabled \($0)" : " retiring \($0)" } ?? ""
            return [AuditEvent(emergency ? "key.rotate.emergency" : "key.rotate", "key \(id)" + detail)]
        }
        return id
    }

    /// The latest expiry of anything the primary can have signed when it stops being primary at `now`: the last
    /// link in the ledger, a session signed this very moment (which lasts at most the absolute session limit
    /// from sign-in, refreshes included) and a reset token signed this moment. A retiring key verifies until
    /// then, so that a routine rotation signs nobody out and breaks no reset link.
    func lastSignedExpiry(lastLinkExpiry: Int64?, at now: Int64) -> Int64 {
        max(lastLinkExpiry ?? now, now + accountPolicy.sessionAbsolute, now + accountPolicy.resetLifetime)
    }

    public func disableKey(_ id: KeyID) async throws {
        let leeway = policy.leeway
        try await changeKey(id, operation: "key.disable") { ring, now in try ring.disable(id, at: now, leeway: leeway) }
    }

    public func enableKey(_ id: KeyID) async throws {
        let leeway = policy.leeway
        try await changeKey(id, operation: "key.enable") { ring, now in try ring.enable(id, at: now, leeway: leeway) }
    }

    public func destroyKey(_ id: KeyID) async throws {
        let leeway = policy.leeway
        try await changeKey(id, operation: "key.destroy") { ring, now in try ring.destroy(id, at: now, leeway: leeway) }
    }

    /// The state `key` is in now, under this installation's leeway.
    public func effectiveState(of key: KeyRecord, in ring: KeyRing) -> KeyState {
        ring.effectiveState(of: key, at: clock(), leeway: policy.leeway)
    }

    /// Destroys the material of keys whose links have all expired and drops revocations that no longer cover
    /// any live link. Returns what was removed.
    public func prune() async throws -> (destroyedKeys: [KeyID], removedRevocations: Int) {
        let now = clock()
        let leeway = policy.leeway
        let before = try await store.ring().ring
        let after = try await store.updateRing(actor: actor, at: now) { ring, _ in
            ring.prune(at: now, leeway: leeway).map { AuditEvent("key.destroy", "key \($0) expired") }
        }
        let destroyed = after.keys.filter { $0.state == .destroyed && before.key($0.id)?.state != .destroyed }.map(\.id)
        let removed = try await store.pruneRevocations(expiredBefore: now - leeway, actor: actor, at: now)
        return (destroyed, removed)
    }

    /// The current primary, creating the ring's first key when the ring is empty.
    func primaryKeyRecord() async throws -> KeyRecord {
        if let primary = try await store.ring().ring.primary { return primary }
        let now = clock()
        let (id, sealed) = newKeyMaterial()
        let ring = try await store.updateRing(actor: actor, at: now) { ring, context in
            // Another process may have created the first key meanwhile.
            guard ring.primary == nil else { return [] }
            try ring.rotate(newID: try Self.unused(id, in: ring), sealedSecret: sealed, at: now,
                            lastSignedExpiry: lastSignedExpiry(lastLinkExpiry: context.primaryLastLinkExpiry, at: now),
                            emergency: false)
            return [AuditEvent("key.rotate", "key \(id) first key")]
        }
        guard let primary = ring.primary else {
            throw PortalLinksError(.conflict, "the ring has keys but no primary; promote one with 'keys promote KEY_ID'")
        }
        return primary
    }

    private func changeKey(_ id: KeyID, operation: String,
                           _ change: @escaping @Sendable (inout KeyRing, Int64) throws -> Void) async throws {
        let now = clock()
        _ = try await store.updateRing(actor: actor, at: now) { ring, _ in
            try change(&ring, now)
            return [AuditEvent(operation, "key \(id)")]
        }
    }

    private func newKeyMaterial() -> (KeyID, [UInt8]) {
        let id = KeyID.random()
        var secret = SecureRandom.bytes(Self.keySecretCount)
        defer { SecureRandom.wipe(&secret) }
        return (id, masterKey.seal(secret, context: KeyRecord.sealingContext(for: id)))
    }

    /// Key IDs are random; a clash with any key ever in the ring is refused rather than silently retried, since
    /// the material was sealed for this ID. The odds are about one in four billion per key.
    private static func unused(_ id: KeyID, in ring: KeyRing) throws(PortalLinksError) -> KeyID {
        guard ring.key(id) == nil else { throw PortalLinksError(.conflict, "key ID \(id) clashed with an existing key; try again") }
        return id
    }
}
