import Logging
import ServiceLifecycle

/// Reloads the snapshot when the store's generation changes, so that key and revocation changes made by the
/// CLI in another process, or by another server, reach this server. It checks the generation when the store
/// signals a change (PostgreSQL notifies at once) and at every interval whatever the store signals: polling is
/// what a store without signals relies on, and what covers signals lost while a listener reconnects.
public struct SnapshotReloader: Service {
    let state: ServingState
    let interval: Duration

    public init(state: ServingState, interval: Duration = .milliseconds(250)) {
        self.state = state
        self.interval = interval
    }

    public func run() async throws {
        // One pending check at most: signals and ticks that arrive during a check fold into the next one.
        let (checks, requestCheck) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        requestCheck.yield()
        let signals = state.installation.store.changeSignals()
        let interval = interval
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        requestCheck.yield()
                    }
                }
                group.addTask {
                    for await _ in signals { requestCheck.yield() }
                }
                for await _ in checks {
                    do {
                        try await state.reloadIfChanged()
                    } catch {
                        state.logger.warning("checking the key ring generation failed", metadata: ["error": "\(error)"])
                    }
                }
                // Cancelled: the checks ended, and the ticks and signals end with the group.
                group.cancelAll()
            }
        }
    }
}
