import Foundation
import PortalLinksCore
import PortalLinksStore
import Testing

/// Behaviour every store must have. Each test runs against every implementation in `StoreKind`.
@Suite struct LinkStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func ringChangesAreWrittenWithGenerationAndAudit(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        let store = fixture.store
        #expect(try await store.generation() == 0)
        let written = try await Sample.rotate(store, id: 1)
        #expect(written.primary?.id == KeyID(rawValue: 1))
        let (ring, generation) = try await store.ring()
        #expect(ring == written)
        #expect(generation == 1)
        let audit = try await store.auditEntries()
        #expect(audit.map(\.operation) == ["key.rotate"])
        #expect(audit.first?.actor == "tester")
        #expect(AuditEntry.firstBrokenEntry(in: audit) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aRefusedChangeLeavesNothingBehind(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        let store = fixture.store
        _ = try await Sample.rotate(store, id: 1)
        let before = try await store.ring()
        let auditBefore = try await store.auditEntries()
        await #expect(throws: PortalLinksError.self) {
            _ = try await store.updateRing(actor: "tester", at: Sample.now) { ring, _ in
                try ring.add(id: KeyID(rawValue: 2), sealedSecret: Sample.sealed, at: Sample.now)
                try ring.disable(KeyID(rawValue: 1), at: Sample.now)  // the primary: refused after a change was made
                return [AuditEvent("key.disable", "key 00000001")]
            }
        }
        let after = try await store.ring()
        #expect(after.ring == before.ring)
        #expect(after.generation == before.generation)
        #expect(try await store.auditEntries() == auditBefore)
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentRotationsFromSeparateConnectionsLeaveOneConsistentRing(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        _ = try await Sample.rotate(fixture.store, id: 1)
        let rotations = 12
        let handles = try (0..<rotations).map { _ in try fixture.reopen() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, handle) in handles.enumerated() {
                group.addTask { _ = try await Sample.rotate(handle, id: UInt32(100 + index)) }
            }
            try await group.waitForAll()
        }
        let (ring, generation) = try await fixture.store.ring()
        #expect(ring.keys.count == rotations + 1)
        #expect(ring.keys.filter { $0.state == .primary }.count == 1)
        #expect(ring.keys.filter { $0.state == .retiring }.count == rotations)
        #expect(generation == UInt64(rotations + 1))
        let audit = try await fixture.store.auditEntries()
        #expect(audit.count == rotations + 1)
        #expect(AuditEntry.firstBrokenEntry(in: audit) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func revocationsAreIdempotentWidenOnlyAndExpire(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        let store = fixture.store
        let link = LinkID(rawValue: 0xabc)
        let acme = ClientID.text("acme")
        #expect(try await store.revokeLink(link, coversUntil: Sample.now + 100, actor: "t", at: Sample.now))
        #expect(try await !store.revokeLink(link, coversUntil: Sample.now + 100, actor: "t", at: Sample.now))
        #expect(try await store.generation() == 1)
        #expect(try await store.revokeClient(acme, before: Sample.now, coversUntil: Sample.now + 100, actor: "t", at: Sample.now) == Sample.now)
        #expect(try await store.revokeClient(acme, before: Sample.now - 50, coversUntil: Sample.now + 50, actor: "t", at: Sample.now) == Sample.now)
        #expect(try await store.setClient(.text("globex"), disabled: true, actor: "t", at: Sample.now))
        #expect(try await !store.setClient(.text("globex"), disabled: true, actor: "t", at: Sample.now))

        let live = try await store.revocations(at: Sample.now)
        #expect(live.links.contains(link))
        #expect(live.clientsRevokedBefore[acme] == Sample.now)
        #expect(live.disabledClients.contains(.text("globex")))
        let status = try await store.revocationStatus(of: link, client: acme)
        #expect(status.linkRevokedAt == Sample.now && status.clientRevokedBefore == Sample.now && status.clientDisabledAt == nil)

        let later = try await store.revocations(at: Sample.now + 101)
        #expect(later.links.isEmpty && later.clientsRevokedBefore.isEmpty)
        #expect(later.disabledClients.contains(.text("globex")), "disabling is not time-limited")
        #expect(try await store.pruneRevocations(expiredBefore: Sample.now + 101, actor: "t", at: Sample.now) == 2)
        #expect(try await store.revocationStatus(of: link, client: acme) == RevocationStatus())
        #expect(try await store.setClient(.text("globex"), disabled: false, actor: "t", at: Sample.now))
        let operations = try await store.auditEntries().map(\.operation)
        #expect(operations == ["revoke.link", "revoke.client", "revoke.client", "client.disable", "revocations.prune", "client.enable"])
    }

    @Test(arguments: StoreKind.allCases)
    func ledgerQueriesAndTheRetiringWindow(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        let store = fixture.store
        _ = try await Sample.rotate(store, id: 1)
        let recording = try await store.recordIssued([
            Sample.entry(1, key: 1, expiresAt: Sample.now + 1_000),
            Sample.entry(2, client: "globex", key: 1, issuedAt: Sample.now + 1, expiresAt: Sample.now + 5_000),
            Sample.entry(1, client: "initech", key: 1, expiresAt: Sample.now + 1_000),
        ], signedBy: KeyID(rawValue: 1), actor: "tester", at: Sample.now)
        #expect(recording == IssueRecording(clashes: [LinkID(rawValue: 1)]), "a link ID already in the ledger is reported, not overwritten")
        #expect(try await store.ledgerEntry(LinkID(rawValue: 1))?.clientID == .text("acme"))
        #expect(try await store.ledgerEntry(LinkID(rawValue: 2)) == Sample.entry(2, client: "globex", key: 1, issuedAt: Sample.now + 1, expiresAt: Sample.now + 5_000))
        #expect(try await store.ledgerEntry(LinkID(rawValue: 3)) == nil)
        #expect(try await store.ledgerEntries(client: .text("acme"), expiringIn: nil).map(\.linkID.rawValue) == [1])
        #expect(try await store.ledgerEntries(client: nil, expiringIn: Sample.now...(Sample.now + 2_000)).map(\.linkID.rawValue) == [1])
        #expect(try await store.ledgerEntries(client: nil, expiringIn: nil).map(\.linkID.rawValue) == [2, 1], "newest first")

        // Rotating retires key 1 until its last link's expiry, read from the ledger.
        let ring = try await Sample.rotate(store, id: 2)
        #expect(ring.key(KeyID(rawValue: 1))?.verifiesUntil == Sample.now + 5_000)
        // Links signed by key 1 but recorded after the rotation are refused whole, to be signed again by key 2.
        let late = try await store.recordIssued([Sample.entry(3, key: 1, expiresAt: Sample.now + 9_000)],
                                                signedBy: KeyID(rawValue: 1), actor: "tester", at: Sample.now)
        #expect(late == IssueRecording(keyNoLongerPrimary: true))
        #expect(try await store.ledgerEntry(LinkID(rawValue: 3)) == nil)
        #expect(try await store.ring().ring.key(KeyID(rawValue: 1))?.verifiesUntil == Sample.now + 5_000)
        #expect(try await store.auditEntries().filter { $0.operation == "link.issue" }.count == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func masterKeyCheckIsStoredOnce(_ kind: StoreKind) async throws {
        let fixture = try kind.make()
        defer { fixture.cleanup() }
        #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: nil) == nil)
        #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: [1, 2]) == [1, 2])
        #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: [3, 4]) == [1, 2])
        #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: nil) == [1, 2])
    }
}
