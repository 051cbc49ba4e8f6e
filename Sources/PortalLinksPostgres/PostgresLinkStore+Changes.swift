import Logging
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    /// Yields when another transaction that bumped the generation commits, in this process or any other, so that
    /// servers reload within moments instead of at their next poll. Listens on a connection of its own (LISTEN
    /// holds a session), reconnecting after a failure. It also yields each time listening starts or starts
    /// again: changes committed while nobody listened were not notified. Bursts coalesce into one pending signal.
    public func changeSignals() -> AsyncStream<Void> {
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let listening = Task { [location, logger] in
            await Self.listen(location, logger: logger) { continuation.yield() }
            continuation.finish()
        }
        continuation.onTermination = { _ in listening.cancel() }
        return signals
    }

    /// How often an idle listening connection is checked, so that a connection that died without a word (a
    /// server that vanished from the network) is noticed and replaced.
    static let listenCheckInterval = Duration.seconds(30)

    /// Listens until cancelled; after a failure waits a little longer each time, up to five seconds.
    private static func listen(_ location: PostgresStoreURL, logger: Logger, signal: @escaping @Sendable () -> Void) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await connect(location)
                var failure: (any Error)?
                do {
                    try await listen(on: connection, location) {
                        failures = 0
                        signal()
                    } signal: { signal() }
                } catch {
                    failure = error
                }
                try? await connection.close()
                if let failure { throw failure }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("listening for store changes failed; polling covers the gap until it resumes",
                               metadata: ["store": "\(location)", "error": "\(translated(error, location: location))"])
            }
            try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
        }
    }

    /// Listens on `connection` until it fails: calls `started` once listening, then `signal` for each
    /// notification, and checks the connection while it is quiet.
    private static func listen(on connection: PostgresConnection, _ location: PostgresStoreURL, started: () -> Void,
                               signal: @escaping @Sendable () -> Void) async throws {
        try await connection.listen(on: changesChannel) { notifications in
            started()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in notifications { signal() }
                    throw ListeningStopped(reason: "the connection stopped delivering notifications")
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: listenCheckInterval)
                        try await check(connection, location)
                    }
                }
                // Neither child ends but by failing or by cancellation.
                try await group.next()
            }
        }
    }

    /// Fails unless the server answers a trivial query within the connect timeout.
    private static func check(_ connection: PostgresConnection, _ location: PostgresStoreURL) async throws {
        try await withDeadline(.seconds(connectTimeoutSeconds), closing: connection, location: location) {
            try await connection.run("SELECT 1")
        }
    }

    private struct ListeningStopped: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
}
