import PortalLinksCore

/// Everything PortalLinks keeps: the key ring, revocations, the ledger of issued links and the audit log.
///
/// Every change is one transaction: it applies completely, bumps the ring generation when verification is
/// affected, and appends its audit entries, or it leaves the store as it was.
public protocol LinkStore: AccountStore {
    /// The sealed check value that tells whether a master key is the one this store's keys are sealed under.
    /// Stores the given value when there is none yet, and returns the value in force.
    func masterKeyCheck(storingIfAbsent check: [UInt8]?) async throws -> [UInt8]?

    /// Increases with every change that affects verification. Servers poll it to reload.
    func generation() async throws -> UInt64

    /// Yields when the generation may have changed, so that servers reload at once instead of at their next
    /// poll. A hint only: it may yield without a change, and servers keep polling for what it misses. Ends
    /// when the consumer stops iterating.
    func changeSignals() -> AsyncStream<Void>

    /// Lets go of connections and background work. The store is not used afterwards.
    func close() async

    func ring() async throws -> (ring: KeyRing, generation: UInt64)

    /// Runs `change` against the current ring in one exclusive transaction, then writes the changed keys,
    /// bumps the generation if any key changed, and appends the returned audit events. Two staff changing the
    /// ring at once are applied one after the other. Returns the ring as written.
    func updateRing(
        actor: String, at now: Int64,
        _ change: @Sendable (inout KeyRing, RingChangeContext) throws -> [AuditEvent]
    ) async throws -> KeyRing

    /// Revocations still in force at `now`, to be held in every verifier's memory.
    func revocations(at now: Int64) async throws -> Revocations

    /// Returns false when the link was already revoked (nothing changes then).
    func revokeLink(_ id: LinkID, coversUntil: Int64, actor: String, at now: Int64) async throws -> Bool

    /// Refuses the client's links issued before `before`. A later call can widen the window, never narrow it.
    /// With `linksIssuedThrough`, the client's ledger links issued from `before` through that time are revoked
    /// one by one in the same transaction (times are whole seconds: links of the very second of a revocation).
    /// Returns the time in force afterwards.
    func revokeClient(_ client: ClientID, before: Int64, linksIssuedThrough: Int64?, coversUntil: Int64,
                      actor: String, at now: Int64) async throws -> Int64

    /// Returns false when the client already was in that state.
    func setClient(_ client: ClientID, disabled: Bool, actor: String, at now: Int64) async throws -> Bool

    /// Removes revocations whose links have all expired; returns how many were removed.
    func pruneRevocations(expiredBefore cutoff: Int64, actor: String, at now: Int64) async throws -> Int

    func revocationStatus(of link: LinkID, client: ClientID) async throws -> RevocationStatus

    /// Adds links signed by `key` to the ledger, each with an audit entry, in one transaction, provided `key`
    /// is still the primary; otherwise records nothing, so that the issuer signs again with the new primary
    /// (a rotation may have retired or disabled the key while the links were being signed). Links whose ID is
    /// already in the ledger are left out and returned, to be signed again with a new nonce.
    func recordIssued(_ links: [LedgerEntry], signedBy key: KeyID, actor: String, at now: Int64) async throws -> IssueRecording

    func ledgerEntry(_ id: LinkID) async throws -> LedgerEntry?

    /// Ledger entries, newest first, optionally for one client and/or expiring within a window.
    func ledgerEntries(client: ClientID?, expiringIn window: ClosedRange<Int64>?) async throws -> [LedgerEntry]

    /// Records how emailing links went, the latest attempt per link and address replacing any earlier one,
    /// with an audit entry each.
    func recordDeliveries(_ records: [DeliveryRecord], actor: String, at now: Int64) async throws

    /// Deliveries of one link, or of one client's links, or of every link; by link, then address.
    func deliveries(link: LinkID?, client: ClientID?) async throws -> [DeliveryRecord]

    /// The whole audit log, oldest first.
    func auditEntries() async throws -> [AuditEntry]

    /// Adds a caller; refuses a name already taken, revoked callers included. Bumps the generation.
    func addCaller(_ caller: CallerRecord, actor: String, at now: Int64) async throws

    /// Every caller, revoked ones included, by name.
    func callers() async throws -> [CallerRecord]

    /// Returns false when there is no such active caller. Bumps the generation.
    func revokeCaller(named name: String, actor: String, at now: Int64) async throws -> Bool
}

extension LinkStore {
    /// A store in one file has no way to hear of other processes' changes: a stream that never yields, so that
    /// servers rely on polling alone.
    public func changeSignals() -> AsyncStream<Void> { AsyncStream { _ in } }

    /// Nothing to release beyond what deinitialisation releases.
    public func close() async {}
}

/// What a ring change may need to know beyond the ring itself.
public struct RingChangeContext: Sendable {
    /// The expiry of the last link the current primary signed, from the ledger; nil if it signed none.
    public let primaryLastLinkExpiry: Int64?

    public init(primaryLastLinkExpiry: Int64?) { self.primaryLastLinkExpiry = primaryLastLinkExpiry }
}

/// How revocation applies to one link, for troubleshooting.
public struct RevocationStatus: Sendable, Equatable {
    public var linkRevokedAt: Int64?
    public var clientRevokedBefore: Int64?
    public var clientDisabledAt: Int64?

    public init(linkRevokedAt: Int64? = nil, clientRevokedBefore: Int64? = nil, clientDisabledAt: Int64? = nil) {
        self.linkRevokedAt = linkRevokedAt
        self.clientRevokedBefore = clientRevokedBefore
        self.clientDisabledAt = clientDisabledAt
    }
}

/// What became of links handed to `recordIssued`.
public struct IssueRecording: Sendable, Equatable {
    /// The signing key was no longer the primary: nothing was recorded.
    public var keyNoLongerPrimary: Bool
    /// Links left out because their ID was already in the ledger.
    public var clashes: [LinkID]

    public init(keyNoLongerPrimary: Bool = false, clashes: [LinkID] = []) {
        self.keyNoLongerPrimary = keyNoLongerPrimary
        self.clashes = clashes
    }
}
