import GRDB
import PortalLinksCore
import PortalLinksSQLite
import PortalLinksStore
import Testing

@Suite struct AuditChainTests {
    @Test(arguments: [
        "UPDATE audit SET actor = 'mallory' WHERE sequence = 3",
        "UPDATE audit SET subject = 'key 00000009' WHERE sequence = 1",
        "DELETE FROM audit WHERE sequence = 2",
        "UPDATE audit SET at = at + 1 WHERE sequence = 5",
    ])
    func anyChangeBreaksTheChain(_ tampering: String) async throws {
        try await StoreKind.sqlite.withStore { fixture in
            for id in 1...5 { _ = try await Sample.rotate(fixture.store, id: UInt32(id)) }
            #expect(AuditEntry.firstBrokenEntry(in: try await fixture.store.auditEntries()) == nil)
            let queue = try DatabaseQueue(path: fixture.path)
            try await queue.write { try $0.execute(sql: tampering) }
            #expect(AuditEntry.firstBrokenEntry(in: try await fixture.store.auditEntries()) != nil)
        }
    }
}
