import Foundation
import PortalLinksCore
import PortalLinksStore

/// The store implementations the conformance suite runs against.
enum StoreKind: String, CaseIterable, Sendable {
    case sqlite

    /// A fresh, empty store, and a second handle on the same data (another process's view, for concurrency).
    func make() throws -> StoreFixture {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("store.sqlite").path
            return StoreFixture(store: try SQLiteLinkStore(path: path), path: path,
                                reopen: { try SQLiteLinkStore(path: path) },
                                cleanup: { try? FileManager.default.removeItem(at: directory) })
        }
    }
}


struct StoreFixture {
    let store: any LinkStore
    let path: String
    let reopen: () throws -> any LinkStore
    let cleanup: () -> Void
}

enum Sample {
    static let now: Int64 = 1_800_000_000
    static let sealed: [UInt8] = Array(repeating: 9, count: 60)

    static func rotate(_ store: any LinkStore, id: UInt32, at now: Int64 = now, emergency: Bool = false) async throws -> KeyRing {
        try await store.updateRing(actor: "tester", at: now) { ring, context in
            try ring.rotate(newID: KeyID(rawValue: id), sealedSecret: sealed, at: now,
                            lastLinkExpiry: context.primaryLastLinkExpiry, emergency: emergency)
            return [AuditEvent("key.rotate", "key \(KeyID(rawValue: id))")]
        }
    }

    static func entry(_ raw: UInt64, client: String = "acme", key: UInt32, issuedAt: Int64 = now, expiresAt: Int64) -> LedgerEntry {
        LedgerEntry(linkID: LinkID(rawValue: raw), clientID: try! ClientID(parsing: client), displayName: nil,
                    issuedAt: issuedAt, expiresAt: expiresAt, keyID: KeyID(rawValue: key), sentTo: ["ops@acme.example"],
                    issuedBy: "tester")
    }
}
