import Foundation
import GRDB
import PortalLinksCore
@testable import PortalLinksSQLite
import PortalLinksStore
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

    /// Password and API-key hashes live here: the file and its -wal and -shm are the owner's only, under the
    /// usual umask (022, which left them 0644), and a store opened to others is refused with the fix.
    @Test func theStoreFilesAreTheOwnersOnly() async throws {
        try await StoreKind.sqlite.withStore { fixture in
            _ = try await Sample.rotate(fixture.store, id: 1)
            for file in [fixture.path, fixture.path + "-wal", fixture.path + "-shm"] {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(file)")
            }
            await fixture.store.close()
            for file in [fixture.path, fixture.path + "-wal"] {
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
                let error = try #require(throws: PortalLinksError.self) { _ = try SQLiteLinkStore(path: fixture.path) }
                #expect(error.message.contains("open to other users") && error.message.contains("chmod 600"))
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
            _ = try SQLiteLinkStore(path: fixture.path)
        }
    }
}
