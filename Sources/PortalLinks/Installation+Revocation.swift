import PortalLinksCore
import PortalLinksStore

extension Installation {
    /// The latest expiry any token can carry.
    static let lastRepresentableTime = Int64(UInt32.max)

    /// Revokes one link. Returns false when it already was revoked.
    @discardableResult
    public func revokeLink(_ id: LinkID) async throws -> Bool {
        let now = clock()
        // Kept until the link expires, which the ledger knows for links issued here; a link from elsewhere
        // is kept for as long as any token can live.
        let coversUntil = try await store.ledgerEntry(id)?.expiresAt ?? Self.lastRepresentableTime
        return try await store.revokeLink(id, coversUntil: coversUntil, actor: actor, at: now)
    }

    /// Revokes the client's links issued before `before`, or, by default, every link issued so far. Links
    /// issued afterwards work, even within the same second. Returns the cut-off in force, which a later call
    /// can move forward but never back.
    @discardableResult
    public func revokeClient(_ client: ClientID, before: Int64? = nil) async throws -> Int64 {
        let now = clock()
        let cutoff = before ?? now
        let ledger = try await store.ledgerEntries(client: client, expiringIn: nil)
        // Kept until the last covered link expires: the ledger's latest expiry, and never less than the policy
        // maximum allows, so that a maximum shortened since those links were issued cannot cut it short.
        let lastLedgerExpiry = ledger.filter { $0.issuedAt < cutoff }.map(\.expiresAt).max() ?? 0
        let policyBound = min(cutoff.addingReportingOverflow(policy.maximumLifetime).partialValue, Self.lastRepresentableTime)
        // Times are whole seconds, so links issued earlier in this very second are revoked one by one, in the
        // same transaction: a crash cannot leave the client revoked in the audit log and such a link valid.
        return try await store.revokeClient(client, before: cutoff, linksIssuedThrough: before == nil ? now : nil,
                                            coversUntil: max(lastLedgerExpiry, policyBound), actor: actor, at: now)
    }

    /// Disables or re-enables every link of a client. Returns false when nothing changed.
    @discardableResult
    public func setClient(_ client: ClientID, disabled: Bool) async throws -> Bool {
        try await store.setClient(client, disabled: disabled, actor: actor, at: clock())
    }
}
