import PortalLinksCore
import PortalLinksStore
import Synchronization
import Testing

/// Servers wait on `changeSignals()` besides polling. PostgreSQL signals every handle when a change commits;
/// SQLite never signals, and its servers rely on polling as before.
@Suite struct ChangeSignalTests {
    @Test(arguments: StoreKind.allCases)
    func aChangeThroughOneHandleSignalsTheOther(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let listener = try await fixture.reopen()
            let signals = SignalCounter(listener.changeSignals())
            defer { signals.stop() }
            switch kind {
            case .sqlite:
                _ = try await Sample.rotate(fixture.store, id: 1)
                try await Task.sleep(for: .milliseconds(300))
                #expect(signals.count == 0, "a SQLite store never signals")
            case .postgres:
                // Listening has started once the first signal came; changes from then on are heard.
                #expect(try await signals.wait(forMoreThan: 0, within: .seconds(5)), "listening started")
                let before = signals.count
                let start = ContinuousClock.now
                _ = try await Sample.rotate(fixture.store, id: 1)
                // Within a second on a quiet machine (make cluster-test measures it); five here, where every suite
                // runs at once, still tells a notification from a poll.
                #expect(try await signals.wait(forMoreThan: before, within: .seconds(5)), "the change was signalled")
                #expect(ContinuousClock.now - start < .seconds(5))

                // A change that bumps no generation, or rolls back, sends nothing.
                let quiet = signals.count
                try await fixture.store.recordActivity(ActivityEntry(at: Sample.now, event: "account.sign_in", account: nil, clientID: nil,
                                                                     caller: "t", result: "refused unknown"))
                _ = try? await fixture.store.updateRing(actor: "t", at: Sample.now) { ring, _ in
                    try ring.add(id: KeyID(rawValue: 2), sealedSecret: Sample.sealed, at: Sample.now)
                    throw PortalLinksError(.conflict, "changed my mind")
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(signals.count == quiet)
            }
        }
    }
}

/// Counts what a signal stream yields, from a task of its own.
final class SignalCounter: Sendable {
    private let counted = Mutex(0)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ signals: AsyncStream<Void>) {
        let task = Task { [self] in
            for await _ in signals { counted.withLock { $0 += 1 } }
        }
        self.task.withLock { $0 = task }
    }

    var count: Int { counted.withLock { $0 } }

    /// Whether the count passed `count` within `limit`.
    func wait(forMoreThan count: Int, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if self.count > count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return self.count > count
    }

    /// Stops listening: the stream ends when its consumer is cancelled.
    func stop() { task.withLock { $0?.cancel() } }
}
