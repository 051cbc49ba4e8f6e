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
/// By default the threads are scheduled SCHED_IDLE: they get the CPU time the event loops leave, so that when
/// the cores are busy Verify keeps its throughput and sign-ins wait (or are refused once the queue is full),
/// since a sign-in is slow by design and a Verify is not.
public final class HashingPool: PasswordWork {
    /// How the hashing threads compete with the event loops for the CPU.
    public enum Priority: String, Sendable, CaseIterable {
        /// Only CPU time nothing else wants (SCHED_IDLE).
        case idle
        /// Nice +10: a small share when the cores are busy.
        case low
        /// Like the event loops.
        case normal
    }

    private let pool: NIOThreadPool
    private let admitted = Atomic<Int>(0)
    public let threads: Int
    public let maximumWaiting: Int
    public let priority: Priority

    public init(threads: Int, maximumWaiting: Int, priority: Priority = .idle) {
        self.threads = max(1, threads)
        self.maximumWaiting = max(0, maximumWaiting)
        self.priority = priority
        pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    public func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws -> Result {
        let (_, now) = admitted.add(1, ordering: .relaxed)
        defer { admitted.subtract(1, ordering: .relaxed) }
        guard now <= threads + maximumWaiting else {
            throw PortalLinksError(.busy, "too many sign-ins are waiting; try again shortly")
        }
        let priority = self.priority
        return try await pool.runIfActive {
            Self.set(priority)
            return work()
        }
    }

    /// Hashes started or waiting now.
    public var pending: Int { admitted.load(ordering: .relaxed) }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// Sets the calling thread's priority; on every job, since the pool does not say when a thread starts
    /// (one system call against tens of milliseconds of hashing).
    private static func set(_ priority: Priority) {
        switch priority {
        case .idle: _ = pl_set_thread_idle_priority()
        case .low: _ = pl_set_thread_nice(10)
        case .normal: break
        }
    }
}
