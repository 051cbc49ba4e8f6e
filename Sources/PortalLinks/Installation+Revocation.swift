import PortalLinksCore
import PortalLinksStore

extension Installation {
    /// Revokes one link. Returns false when it already was revoked.
    @discardableResult
    public func revokeLink(_ id: LinkID) async throws -> Bool {
        let now = clock()
        // Kept until the link expires: from the ledger when it was issued here, else the longest possible life.
        let coversUntil = try await store.ledgerEntry(id)?.expiresAt ?? now + policy.maximumLifetime
        return try await store.revokeLink(id, coversUntil: coversUntil, actor: actor, at: now)
    }

    /// Revokes the client's links issued before `before` (default: every link issued so far, this second
    /// included). Returns the cut-off in force, which a later call can move forward but never back.
    @discardableResult
    public func revokeClient(_ client: ClientID, before: Int64? = nil) async throws -> Int64 {
        let now = clock()
        let cutoff = before ?? now + 1
        return try await store.revokeClient(client, before: cutoff, coversUntil: cutoff + policy.maximumLifetime,
                                            actor: actor, at: now)
    }

    /// Disables or re-enables every link of a client. Returns false when nothing changed.
    @discardableResult
    public func setClient(_ client: ClientID, disabled: Bool) async throws -> Bool {
        try await store.setClient(client, disabled: disabled, actor: actor, at: clock())
    }
}
