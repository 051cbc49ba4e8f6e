import Logging
import ServiceLifecycle

/// Polls the store's generation and reloads the snapshot when it changes, so that key and revocation changes
/// made by the CLI in another process reach this server within the interval.
public struct SnapshotReloader: Service {
    let state: ServingState
    let interval: Duration

    public init(state: ServingState, interval: Duration = .milliseconds(250)) {
        self.state = state
        self.interval = interval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await state.reloadIfChanged()
                } catch {
                    state.logger.warning("checking the key ring generation failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
