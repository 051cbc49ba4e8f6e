import Logging
import PortalLinks
import PortalLinksCore
import Synchronization

/// The snapshot in force, shared by every connection. Connections read a generation counter on each request
/// (one atomic load) and take the snapshot itself only when it changed, so the verify path stays free of locks.
public final class ServingState: Sendable {
    private let current: Mutex<ServingSnapshot>
    private let published: Synchronization.Atomic<UInt64>
    private let draining = Synchronization.Atomic<Bool>(false)
    let installation: Installation
    let logger: Logger
    private let reloads: ReloadCoordinator
    /// Builds a snapshot from the store: every key unsealed, every revocation, caller and session ending read.
    private let load: @Sendable (Installation) async throws -> ServingSnapshot

    /// Loads the first snapshot from `installation`.
    public convenience init(installation: Installation, logger: Logger,
                            minimumReloadInterval: Duration = .milliseconds(250)) async throws {
        try await self.init(installation: installation, logger: logger, minimumReloadInterval: minimumReloadInterval,
                            load: Self.load(from:))
    }

    init(installation: Installation, logger: Logger, minimumReloadInterval: Duration,
         load: @escaping @Sendable (Installation) async throws -> ServingSnapshot) async throws {
        self.load = load
        let snapshot = try await load(installation)
        current = Mutex(snapshot)
        published = Synchronization.Atomic(snapshot.generation)
        self.installation = installation
        self.logger = logger
        reloads = ReloadCoordinator(minimumInterval: minimumReloadInterval)
    }

    public var snapshot: ServingSnapshot { current.withLock { $0 } }

    /// The generation of the snapshot in force; cheap enough to read on every request.
    var generation: UInt64 { published.load(ordering: .acquiring) }

    /// Set once shutdown begins: Health then answers NOT_SERVING and new calls are refused.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    func beginDraining() { draining.store(true, ordering: .relaxed) }

    static func load(from installation: Installation) async throws -> ServingSnapshot {
        let (verifier, sessionVerifier) = try await installation.loadVerifiers()
        let callers = try await installation.callers()
        return ServingSnapshot(verifier: verifier, sessionVerifier: sessionVerifier, callers: callers, generation: verifier.generation)
    }

    /// Reloads when the store's generation differs from the one in force. Returns whether it reloaded.
    @discardableResult
    public func reloadIfChanged() async throws -> Bool {
        let stored = try await installation.store.generation()
        guard stored != generation else { return false }
        try await reload()
        return true
    }

    /// For a token naming a key this server has not seen yet (any end user can send one through a front-end):
    /// checks the store's generation, at most once per minimum interval and one check at a time, and reloads
    /// only when it changed. A made-up key ID costs one generation read, never a full load.
    func reloadForUnknownKey() async {
        await reloads.run { [self] in
            do { try await reloadIfChanged() } catch {
                logger.warning("reloading the key ring failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func reload() async throws {
        let snapshot = try await load(installation)
        // Swapped and published under the lock, so that a slower, older load never goes back over a newer one.
        let replaced = current.withLock { current in
            guard snapshot.generation > current.generation else { return false }
            current = snapshot
            published.store(snapshot.generation, ordering: .releasing)
            return true
        }
        if replaced {
            logger.info("key ring reloaded", metadata: ["ring.generation": "\(snapshot.generation)"])
        }
    }
}

/// Runs at most one reload at a time and not more often than `minimumInterval`. A caller that comes too soon
/// after the last reload waits for the next one, shared with every caller arriving meanwhile, rather than going
/// without: a key added a moment ago (a new caller's, a new primary) is then found however busy the server is.
actor ReloadCoordinator {
    private let minimumInterval: Duration
    private var running: Task<Void, Never>?
    private var lastStart: ContinuousClock.Instant?

    init(minimumInterval: Duration) { self.minimumInterval = minimumInterval }

    func run(_ reload: @escaping @Sendable () async -> Void) async {
        if let running {
            await running.value
            return
        }
        let now = ContinuousClock.now
        let start = lastStart.map { max(now, $0 + minimumInterval) } ?? now
        lastStart = start
        let task = Task {
            if start > now { try? await Task.sleep(until: start, clock: .continuous) }
            await reload()
        }
        running = task
        await task.value
        running = nil
    }
}
