import PortalLinksCore
import PortalLinksStore

extension Installation {
    /// A verifier for the ring and revocations as they are now. Servers build a new one when the store's
    /// generation changes.
    public func loadVerifier(leeway: Int64? = nil) async throws -> LinkVerifier {
        let now = clock()
        let (ring, generation) = try await store.ring()
        let revocations = try await store.revocations(at: now - (leeway ?? policy.leeway))
        var keys: [KeyID: LinkVerifier.Key] = [:]
        keys.reserveCapacity(ring.keys.count)
        for record in ring.keys {
            keys[record.id] = LinkVerifier.Key(
                state: record.state, verifiesUntil: record.verifiesUntil,
                hmac: record.state.verifies ? try hmacKey(for: record) : nil)
        }
        return LinkVerifier(keys: keys, revocations: revocations, leeway: leeway ?? policy.leeway, generation: generation)
    }
}
