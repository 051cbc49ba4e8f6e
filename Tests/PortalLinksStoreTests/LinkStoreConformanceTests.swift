import Foundation
import PortalLinksCore
import PortalLinksStore
import Testing

/// Behaviour every store must have. Each test runs against every implementation in `StoreKind`.
@Suite struct LinkStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func ringChangesAreWrittenWithGenerationAndAudit(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
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
    }

    @Test(arguments: StoreKind.allCases)
    func anEmergencyRotationDisablesTheOldPrimaryAndAChangeOfNothingKeepsTheGeneration(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            _ = try await Sample.rotate(store, id: 1)
            let ring = try await Sample.rotate(store, id: 2, emergency: true)
            #expect(ring.primary?.id == KeyID(rawValue: 2))
            #expect(ring.key(KeyID(rawValue: 1))?.state == .disabled)
            #expect(try await fixture.reopen().ring().ring == ring, "another handle reads the same ring")
            #expect(try await store.generation() == 2)

            let unchanged = try await store.updateRing(actor: "tester", at: Sample.now) { _, _ in [AuditEvent("key.check", "nothing")] }
            #expect(unchanged == ring)
            #expect(try await store.generation() == 2, "no key changed, so servers need not reload")
            #expect(try await store.auditEntries().map(\.operation) == ["key.rotate", "key.rotate", "key.check"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRefusedChangeLeavesNothingBehind(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
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
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentRotationsFromSeparateConnectionsLeaveOneConsistentRing(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            let rotations = 12
            var handles: [any LinkStore] = []
            for _ in 0..<rotations { handles.append(try await fixture.reopen()) }
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
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentConflictingChangesFromTwoHandlesExactlyOneWins(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            let other = try await fixture.reopen()
            // Both promote a key of their own only if the ring still has a single key: the second to run must see
            // the first one's key and refuse.
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for (index, handle) in [fixture.store, other].enumerated() {
                    group.addTask {
                        do {
                            _ = try await handle.updateRing(actor: "tester", at: Sample.now) { ring, context in
                                guard ring.keys.count == 1 else { throw PortalLinksError(.conflict, "the ring changed meanwhile") }
                                try ring.rotate(newID: KeyID(rawValue: UInt32(10 + index)), sealedSecret: Sample.sealed, at: Sample.now,
                                                lastSignedExpiry: context.primaryLastLinkExpiry, emergency: false)
                                return [AuditEvent("key.rotate", "key \(10 + index)")]
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await fixture.store.ring().ring.keys.count == 2)
            #expect(try await fixture.store.generation() == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func revocationsAreIdempotentWidenOnlyAndExpire(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = LinkID(rawValue: 0xabc)
            let acme = ClientID.text("acme")
            #expect(try await store.revokeLink(link, coversUntil: Sample.now + 100, actor: "t", at: Sample.now))
            #expect(try await !store.revokeLink(link, coversUntil: Sample.now + 100, actor: "t", at: Sample.now))
            #expect(try await store.generation() == 1)
            #expect(try await store.revokeClient(acme, before: Sample.now, linksIssuedThrough: nil, coversUntil: Sample.now + 100, actor: "t", at: Sample.now) == Sample.now)
            #expect(try await store.revokeClient(acme, before: Sample.now - 50, linksIssuedThrough: nil, coversUntil: Sample.now + 50, actor: "t", at: Sample.now) == Sample.now)
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
            #expect(try await store.pruneRevocations(expiredBefore: Sample.now + 101, actor: "t", at: Sample.now) == 0)
            #expect(try await store.revocationStatus(of: link, client: acme) == RevocationStatus())
            #expect(try await store.setClient(.text("globex"), disabled: false, actor: "t", at: Sample.now))
            #expect(try await !store.setClient(.text("globex"), disabled: false, actor: "t", at: Sample.now))
            let operations = try await store.auditEntries().map(\.operation)
            #expect(operations == ["revoke.link", "revoke.client", "revoke.client", "client.disable", "revocations.prune", "client.enable"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aClientsCutOffMovesForwardOnlyAndItsCoverLengthens(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture async throws in
            let store = fixture.store
            let acme = ClientID.text("acme")
            #expect(try await store.revokeClient(acme, before: Sample.now, linksIssuedThrough: nil, coversUntil: Sample.now + 100, actor: "t", at: Sample.now) == Sample.now)
            #expect(try await store.revokeClient(acme, before: Sample.now + 10, linksIssuedThrough: nil, coversUntil: Sample.now + 50, actor: "t", at: Sample.now + 10)
                    == Sample.now + 10, "a later cut-off widens the window")
            #expect(try await store.revokeClient(acme, before: Sample.now + 5, linksIssuedThrough: nil, coversUntil: Sample.now + 500, actor: "t", at: Sample.now + 20)
                    == Sample.now + 10, "an earlier one never narrows it")
            #expect(try await store.revocations(at: Sample.now + 400).clientsRevokedBefore[acme] == Sample.now + 10,
                    "the longest cover is kept")
            #expect(try await store.auditEntries().map(\.subject).last == "client acme before \(Sample.now + 10)")
        }
    }

    /// Links issued in the very second of a client revocation go in the same transaction, each audited, so
    /// that a crash cannot leave the client revoked in the audit log with such a link still valid.
    @Test(arguments: StoreKind.allCases)
    func aClientRevocationTakesItsSecondsLinksAtomically(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            _ = try await Sample.rotate(store, id: 7)
            _ = try await store.recordIssued([
                Sample.entry(0x11, key: 7, issuedAt: Sample.now - 5, expiresAt: Sample.now + 100),  // covered by the cut-off
                Sample.entry(0x12, key: 7, issuedAt: Sample.now, expiresAt: Sample.now + 200),  // this second
                Sample.entry(0x13, client: "globex", key: 7, issuedAt: Sample.now, expiresAt: Sample.now + 200),
            ], signedBy: KeyID(rawValue: 7), actor: "tester", at: Sample.now)
            let before = try await store.auditEntries().count
            _ = try await store.revokeClient(.text("acme"), before: Sample.now, linksIssuedThrough: Sample.now,
                                             coversUntil: Sample.now + 100, actor: "t", at: Sample.now)
            let revoked = try await store.revocations(at: Sample.now).links
            #expect(revoked.contains(LinkID(rawValue: 0x12)))
            #expect(!revoked.contains(LinkID(rawValue: 0x11)) && !revoked.contains(LinkID(rawValue: 0x13)))
            let added = try await store.auditEntries().dropFirst(before).map(\.operation)
            #expect(added == ["revoke.client", "revoke.link"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func unsignedIDsWithTheHighBitSetRoundTrip(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            _ = try await Sample.rotate(store, id: 0xFFFF_FFFE)
            let high = LinkID(rawValue: 0xF123_4567_89AB_CDEF)
            let recording = try await store.recordIssued([Sample.entry(high.rawValue, key: 0xFFFF_FFFE, expiresAt: Sample.now + 100)],
                                                         signedBy: KeyID(rawValue: 0xFFFF_FFFE), actor: "tester", at: Sample.now)
            #expect(recording == IssueRecording())
            #expect(try await store.ledgerEntry(high)?.linkID == high)
            #expect(try await store.ledgerEntry(high)?.keyID == KeyID(rawValue: 0xFFFF_FFFE))
            #expect(try await store.revokeLink(high, coversUntil: Sample.now + 100, actor: "t", at: Sample.now))
            #expect(try await store.revocations(at: Sample.now).links.contains(high))
            #expect(try await store.revocationStatus(of: high, client: .text("acme")).linkRevokedAt == Sample.now)

            let account = try await Sample.createAccount(store, "ana@example.com", link: high)
            #expect(account.linkID == high)
            #expect(try await store.accounts(client: nil, link: high).map(\.id) == [account.id])
            let session: UInt64 = 0x8000_0000_0000_0001
            try await store.signOut(session: session, account: account.id, keptUntil: Sample.now + 100, caller: "frontend", at: Sample.now)
            #expect(try await store.sessionEndings(at: Sample.now, window: 100).signedOut == [session])
        }
    }

    /// Each link's emailing outcome per address: the latest attempt replaces an earlier one, by link or by
    /// client, and every attempt is in the audit log.
    @Test(arguments: StoreKind.allCases)
    func deliveriesKeepTheLatestOutcomePerAddress(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            _ = try await Sample.rotate(store, id: 1)
            _ = try await store.recordIssued([Sample.entry(1, key: 1, expiresAt: Sample.now + 1_000),
                                              Sample.entry(2, client: "globex", key: 1, expiresAt: Sample.now + 1_000)],
                                             signedBy: KeyID(rawValue: 1), actor: "tester", at: Sample.now)
            let one = LinkID(rawValue: 1), two = LinkID(rawValue: 2)
            try await store.recordDeliveries([
                DeliveryRecord(linkID: one, address: "ana@client.example", state: "failed", detail: "421 try later", at: Sample.now),
                DeliveryRecord(linkID: one, address: "bo@client.example", state: "sent", detail: "250 queued", at: Sample.now),
                DeliveryRecord(linkID: two, address: "cy@globex.example", state: "sent", detail: "250 ok", at: Sample.now),
            ], actor: "tester", at: Sample.now)
            try await store.recordDeliveries([
                DeliveryRecord(linkID: one, address: "ana@client.example", state: "sent", detail: "250 queued as 7", at: Sample.now + 5),
            ], actor: "tester", at: Sample.now + 5)
            let ofOne = try await store.deliveries(link: one, client: nil)
            #expect(ofOne.map(\.address) == ["ana@client.example", "bo@client.example"])
            #expect(ofOne[0] == DeliveryRecord(linkID: one, address: "ana@client.example", state: "sent", detail: "250 queued as 7", at: Sample.now + 5))
            #expect(try await store.deliveries(link: nil, client: .text("globex")).map(\.address) == ["cy@globex.example"])
            #expect(try await store.deliveries(link: nil, client: nil).count == 3)
            let sends = try await store.auditEntries().filter { $0.operation == "link.send" }.map(\.subject)
            #expect(sends.count == 4 && sends.last == "link \(one) to ana@client.example: sent", "\(sends)")
            // A replacement names the link it replaces.
            var replacement = Sample.entry(3, key: 1, expiresAt: Sample.now + 9_000)
            replacement.replaces = one
            _ = try await store.recordIssued([replacement], signedBy: KeyID(rawValue: 1), actor: "tester", at: Sample.now)
            #expect(try await store.ledgerEntry(LinkID(rawValue: 3))?.replaces == one)
            #expect(try await store.ledgerEntry(one)?.replaces == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func ledgerQueriesAndTheRetiringWindow(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
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
            #expect(try await store.ledgerEntries(client: .text("globex"), expiringIn: Sample.now...(Sample.now + 2_000)).isEmpty)
            #expect(try await store.ledgerEntries(client: nil, expiringIn: nil).map(\.linkID.rawValue) == [2, 1], "newest first")
            #expect(try await store.generation() == 1, "issuing does not change what verifiers hold")

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
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentIssuingOfTheSameIDsRecordsEachOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            let other = try await fixture.reopen()
            let batch = (1...20).map { Sample.entry(UInt64($0), key: 1, expiresAt: Sample.now + 1_000) }
            let recordings = try await withThrowingTaskGroup(of: IssueRecording.self) { group in
                for handle in [fixture.store, other] {
                    group.addTask { try await handle.recordIssued(batch, signedBy: KeyID(rawValue: 1), actor: "tester", at: Sample.now) }
                }
                return try await group.reduce(into: [IssueRecording]()) { $0.append($1) }
            }
            #expect(recordings.map(\.clashes.count).sorted() == [0, 20], "one batch is recorded whole, the other clashes whole")
            #expect(try await fixture.store.ledgerEntries(client: nil, expiringIn: nil).count == 20)
            #expect(try await fixture.store.auditEntries().filter { $0.operation == "link.issue" }.count == 20)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theAuditChainHoldsAfterManyChangesFromTwoHandlesAtOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            let other = try await fixture.reopen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (side, handle) in [fixture.store, other].enumerated() {
                    group.addTask {
                        for index in 0..<15 {
                            let raw = UInt64(side * 1_000 + index)
                            _ = try await handle.revokeLink(LinkID(rawValue: raw), coversUntil: Sample.now + 100, actor: "side \(side)", at: Sample.now)
                            try await handle.addCaller(CallerRecord(name: "caller-\(side)-\(index)", keyHash: Array(repeating: UInt8(side), count: 31) + [UInt8(index)],
                                                                    scopes: ["verify"], createdAt: Sample.now), actor: "side \(side)", at: Sample.now)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let audit = try await fixture.store.auditEntries()
            #expect(audit.count == 1 + 2 * 15 * 2)
            #expect(AuditEntry.firstBrokenEntry(in: audit) == nil)
            #expect(audit.map(\.sequence) == Array(1...Int64(audit.count)))
            #expect(try await fixture.store.generation() == UInt64(audit.count), "each change bumped the generation once")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func callersAreAddedListedAndRevokedByName(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let web = CallerRecord(name: "web", keyHash: Array(repeating: 1, count: 32), scopes: ["verify", "issue"], createdAt: Sample.now)
            let zeta = CallerRecord(name: "Zeta", keyHash: Array(repeating: 2, count: 32), scopes: ["accounts"], createdAt: Sample.now)
            try await store.addCaller(web, actor: "t", at: Sample.now)
            try await store.addCaller(zeta, actor: "t", at: Sample.now)
            #expect(try await store.generation() == 2)
            #expect(try await store.callers() == [zeta, web], "by name, in byte order whatever the collation")

            await #expect(throws: PortalLinksError(.conflict, "a caller named 'web' exists already")) {
                try await store.addCaller(CallerRecord(name: "web", keyHash: Array(repeating: 3, count: 32), scopes: ["verify"],
                                                       createdAt: Sample.now), actor: "t", at: Sample.now)
            }
            #expect(try await store.revokeCaller(named: "web", actor: "t", at: Sample.now + 5))
            #expect(try await !store.revokeCaller(named: "web", actor: "t", at: Sample.now + 6), "already revoked")
            #expect(try await !store.revokeCaller(named: "nobody", actor: "t", at: Sample.now + 6))
            await #expect(throws: PortalLinksError.self, "a revoked caller's name stays taken") {
                try await store.addCaller(web, actor: "t", at: Sample.now)
            }
            #expect(try await store.callers().first { $0.name == "web" }?.revokedAt == Sample.now + 5)
            #expect(try await store.generation() == 3)
            #expect(try await store.auditEntries().map(\.operation) == ["caller.add", "caller.add", "caller.revoke"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func masterKeyCheckIsStoredOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture async throws in
            #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: nil) == nil)
            #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: [1, 2]) == [1, 2])
            #expect(try await fixture.store.masterKeyCheck(storingIfAbsent: [3, 4]) == [1, 2])
            #expect(try await fixture.reopen().masterKeyCheck(storingIfAbsent: nil) == [1, 2])
            #expect(try await fixture.store.generation() == 0)
        }
    }
}
