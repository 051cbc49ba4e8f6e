import GRDB
@testable import PortalLinksStore
import Testing

@Suite struct SQLiteDurabilityTests {
    /// A write that returned is on disk: the writer syncs every commit (`synchronous = FULL`), which opening
    /// the pool in WAL mode would otherwise lower to NORMAL (synced only at checkpoints).
    @Test func theWriterSyncsEveryCommit() async throws {
        try await StoreKind.sqlite.withStore { fixture in
            let store = try #require(fixture.store as? SQLiteLinkStore)
            let mode = try await store.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
            #expect(mode == 2, "2 is FULL")
        }
    }
}
