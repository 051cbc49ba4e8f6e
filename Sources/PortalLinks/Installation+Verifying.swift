import PortalLinksCore
import PortalLinksStore

extension Installation {
    /// A verifier for the ring and revocations as they are now. Servers build a new one when the store's
    /// generation changes.
    public func loadVerifier(leeway: Int64? = nil) async throws -> LinkVerifier {
        let (ring, generation) = try await store.ring()
        return try await linkVerifier(ring: ring, generation: generation, leeway: leeway ?? policy.leeway)
    }

    /// A verifier for sessions and reset tokens as things stand now.
    public func loadSessionVerifier() async throws -> SessionVerifier {
        try await sessionVerifier(ring: store.ring().ring)
    }

    /// Both verifiers from one reading of the ring, so that they agree on its generation: what a server
    /// loads when the generation changes.
    public func loadVerifiers() async throws -> (links: LinkVerifier, sessions: SessionVerifier) {
        let (ring, generation) = try await store.ring()
        return (try await linkVerifier(ring: ring, generation: generation, leeway: policy.leeway), try await sessionVerifier(ring: ring))
    }

    private func linkVerifier(ring: KeyRing, generation: UInt64, leeway: Int64) async throws -> LinkVerifier {
        let revocations = try await store.revocations(at: clock() - leeway)
        var keys: [KeyID: LinkVerifier.Key] = [:]
        keys.reserveCapacity(ring.keys.count)
        for record in ring.keys {
            keys[record.id] = LinkVerifier.Key(state: record.state, verifiesUntil: record.verifiesUntil,
                                               hmac: record.state.verifies ? try hmacKey(for: record) : nil)
        }
        return LinkVerifier(keys: keys, revocations: revocations, leeway: leeway, generation: generation)
    }

    private func sessionVerifier(ring: KeyRing) async throws -> SessionVerifier {
        var keys: [KeyID: SessionVerifier.Key] = [:]
        for record in ring.keys {
            let hmacs = record.state.verifies ? try hmacKeys(for: record, purposes: [.session, .passwordReset]) : nil
            keys[record.id] = SessionVerifier.Key(state: record.state, verifiesUntil: record.verifiesUntil,
                                                  session: hmacs?[0], reset: hmacs?[1])
        }
        let endings = try await store.sessionEndings(at: clock(), window: accountPolicy.sessionAbsolute + policy.leeway)
        return SessionVerifier(keys: keys, endings: endings, absoluteLimit: accountPolicy.sessionAbsolute, leeway: policy.leeway)
    }
}
