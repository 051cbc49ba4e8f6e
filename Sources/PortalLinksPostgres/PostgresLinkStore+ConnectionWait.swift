import PortalLinksCore
import PostgresNIO
import Synchronization

extension PostgresLinkStore {
    /// How long an operation waits for a pooled connection. While the server is unreachable the pool keeps
    /// callers waiting as it retries (for up to a minute); past this they get `unavailable` instead, having
    /// done nothing.
    static let connectionWaitLimit = Duration.seconds(connectTimeoutSeconds + 1)

    /// Runs `body` on a pooled connection, or throws `unavailable` when none is had within the wait limit.
    /// Exactly one of the two happens: a connection that arrives after the limit runs nothing.
    func withPooledConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let wait = ConnectionWait()
        let client = self.client
        let unavailable = PortalLinksError(.unavailable, "PostgreSQL at \(location.serverDescription) is unavailable: "
                                           + "no connection within \(Self.connectionWaitLimit.components.seconds) seconds")
        return try await withoutActuallyEscaping(body) { body in
            // The group ends before this scope does, so `body` never outlives the call; a group task runs it, on
            // one task at a time.
            let body = UncheckedSendable(body)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        guard wait.claim() else { throw unavailable }
                        return try await body.value(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: Self.connectionWaitLimit)
                    guard wait.expire() else { return nil }  // the operation has its connection: let it finish
                    throw unavailable
                }
                while let outcome = try await group.next() {
                    if let value = outcome {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
        }
    }
}

/// Who got there first: the operation, with its connection, or the wait limit.
private final class ConnectionWait: Sendable {
    private enum State { case waiting, claimed, expired }
    private let state = Mutex(State.waiting)

    func claim() -> Bool { settle(as: .claimed) }
    func expire() -> Bool { settle(as: .expired) }

    private func settle(as outcome: State) -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = outcome
            return true
        }
    }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
