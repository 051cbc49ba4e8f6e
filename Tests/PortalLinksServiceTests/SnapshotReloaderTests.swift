import Foundation
import Logging
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore
import PortalLinksTesting
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing
@testable import PortalLinks
@testable import PortalLinksCore
@testable import PortalLinksService

/// The reloader checks the generation at every interval, and at once when the store signals a change.
@Suite(.timeLimit(.minutes(1))) struct SnapshotReloaderTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()
    static let postgres = TestPostgres.server

    /// Tokens naming keys nobody has (any end user can send them through a front-end) cost one generation read
    /// each, never a full load; a key that really is new is loaded at once.
    @Test func anUnknownKeyReloadsOnlyWhenTheStoreChanged() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-reloader-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "test")
        _ = try await installation.rotateKeys()
        let loads = Mutex(0)
        let state = try await ServingState(installation: installation, logger: Self.logger, minimumReloadInterval: .zero) { installation in
            loads.withLock { $0 += 1 }
            return try await ServingState.load(from: installation)
        }
        #expect(loads.withLock { $0 } == 1)
        for _ in 0..<20 { await state.reloadForUnknownKey() }
        #expect(loads.withLock { $0 } == 1, "the generation had not changed: nothing was loaded")
        _ = try await installation.rotateKeys()
        await state.reloadForUnknownKey()
        #expect(loads.withLock { $0 } == 2, "a new key: loaded once")
        #expect(state.snapshot.verifier.keyCount == 2)
    }

    /// Reloads for unknown keys come at most once per interval; one asked for too soon waits for the next
    /// rather than going without, so a key added just after a reload is still found by the call that needs it.
    @Test func anUnknownKeyTooSoonAfterAReloadWaitsForTheNextOne() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-reloader-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "test")
        _ = try await installation.rotateKeys()
        let state = try await ServingState(installation: installation, logger: Self.logger, minimumReloadInterval: .milliseconds(300))
        _ = try await installation.rotateKeys()
        let started = ContinuousClock.now
        await state.reloadForUnknownKey()
        #expect(state.snapshot.verifier.keyCount == 2)
        _ = try await installation.rotateKeys()
        await state.reloadForUnknownKey()
        #expect(state.snapshot.verifier.keyCount == 3, "the key added right after the last reload is found")
        #expect(ContinuousClock.now - started >= .milliseconds(300), "not sooner than the interval allows")
    }

    @Test func aStoreThatNeverSignalsIsPolledAndTheReloaderStopsPromptly() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-reloader-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "test")
        _ = try await installation.rotateKeys()
        try await Self.withReloader(installation, interval: .milliseconds(100)) { state in
            let before = state.generation
            let other = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "other")
            _ = try await other.revokeLink(LinkID(rawValue: 7))
            #expect(try await eventually(within: .seconds(5)) { state.generation > before })
        }
    }

    @Test(.enabled(if: postgres != nil)) func aPostgreSQLChangeIsReloadedAtOnceLongBeforeThePoll() async throws {
        let database = try await TestPostgres.createDatabase()
        let environment = ["PORTAL_LINKS_MASTER_KEY": MasterKey.generate().hexEncoded]
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-reloader-\(UUID().uuidString)").path
        let serving = try await PostgresLinkStore.open(location: database, logger: Self.logger)
        let staff = try await PostgresLinkStore.open(location: database, logger: Self.logger)
        do {
            let installation = try await Installation.open(store: serving, home: home, environment: environment, actor: "serve")
            _ = try await installation.rotateKeys()
            try await Self.withReloader(installation, interval: .seconds(3_600)) { state in
                // Listening has begun once its connection shows in pg_stat_activity.
                #expect(try await eventually(within: .seconds(5)) {
                    try await !TestPostgres.rows(database, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'").isEmpty
                })
                let before = state.generation
                let other = try await Installation.open(store: staff, home: home, environment: environment, actor: "staff")
                _ = try await other.rotateKeys(emergency: true)
                // Within a second on a quiet machine (make cluster-test measures it); five here, where every suite
                // runs at once, still tells a notification from the poll an hour away.
                #expect(try await eventually(within: .seconds(5)) { state.generation > before },
                        "reloaded at once with the next poll an hour away")
            }
        } catch {
            Issue.record(error)
        }
        await serving.close()
        await staff.close()
        try await TestPostgres.dropDatabase(database)
    }

    /// Runs a reloader over `installation` in a service group for `body`, then shuts the group down and expects
    /// it to stop promptly (well before the next poll).
    static func withReloader(_ installation: Installation, interval: Duration,
                             _ body: (ServingState) async throws -> Void) async throws {
        let state = try await ServingState(installation: installation, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: SnapshotReloader(state: state, interval: interval))],
                                                      logger: logger))
        let running = Task { try await group.run() }
        do { try await body(state) } catch { Issue.record(error) }
        let stopping = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - stopping < .seconds(5))
    }
}
