import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksSQLite
import PortalLinksTesting
import Synchronization

/// A fresh home directory with an installation in it.
struct TestHome {
    let directory: String
    let clock = TestClock(1_800_000_000)

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-home-\(UUID().uuidString)").path
    }

    func open(environment: [String: String] = [:], actor: String = "tester", policy: LinkPolicy = LinkPolicy()) async throws -> Installation {
        let clock = self.clock
        return try await Installation.open(store: try SQLiteLinkStore(home: directory), home: directory, environment: environment,
                                           policy: policy, actor: actor,
                                           clock: { clock.now })
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
