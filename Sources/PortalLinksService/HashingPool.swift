import CPortalLinks
import NIOPosix
import PortalLinks
import PortalLinksCore
import Synchronization

/// Password hashes for the server: on `threads` threads of their own, never on the event loops, with at most
/// `maximumWaiting` more queued behind them. Past that a call is refused at once (RESOURCE_EXHAUSTED) rather
/// than queued without bound, so a burst of sign-ins costs at most `threads` hashes' memory (19 MiB each) and
/// a bounded wait.
///
/// The threads run at a lower scheduling priority (nice +10) than the event loops: when the cores are busy,
/// Verify keeps its throughput and sign-ins wait, since a sign-in is slow by design and a Verify is not.
public final class HashingPool: PasswordWork {
    private let pool: NIOThreadPool
    private let admitted = Atomic<Int>(0)
    public let threads: Int
    public let maximumWaiting: Int

    public init(threads: Int, maximumWaiting: Int) {
        self.threads = max(1, threads)
        self.maximumWaiting = max(0, maximumWaiting)
        pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    public func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws -> Result {
        let (_, now) = admitted.add(1, ordering: .relaxed)
        defer { admitted.subtract(1, ordering: .relaxed) }
        guard now <= threads + maximumWaiting else {
            throw PortalLinksError(.busy, "too many sign-ins are waiting; try again shortly")
        }
        return try await pool.runIfActive {
            Self.lowerPriority()
            return work()
        }
    }

    /// Hashes started or waiting now.
    public var pending: Int { admitted.load(ordering: .relaxed) }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// Lowers the calling thread's priority; repeated on every job since the pool does not say when a thread
    /// starts (one system call against tens of milliseconds of hashing).
    private static func lowerPriority() {
        _ = pl_set_thread_nice(10)
    }
}
