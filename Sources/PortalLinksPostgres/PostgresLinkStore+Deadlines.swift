import PortalLinksCore
import PostgresNIO
import Synchronization

/// The two limits on every store call, so that a reload or a staff command fails with `unavailable` instead of
/// hanging: how long it waits for a pooled connection, and how long it may take once it has one.
extension PostgresLinkStore {
    /// How long an operation waits for a pooled connection. While the server is unreachable the pool keeps
    /// callers waiting as it retries (for up to a minute); past this they get `unavailable` instead, having
    /// done nothing.
    static let connectionWaitLimit = Duration.seconds(connectTimeoutSeconds + 1)

    /// How long a call that copies or rewrites the whole store (schema migrations, `migrate-store`) may take.
    static let bulkCallDeadline = Duration.seconds(600)

    /// Runs `body` on a pooled connection, or throws `unavailable` when none is had within the wait limit.
    /// Exactly one of the two happens: a connection that arrives after the limit runs nothing. Once it runs,
    /// `body` has `deadline` to finish (`withDeadline`).
    func withPooledConnection<T: Sendable>(deadline: Duration, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let wait = ConnectionWait()
        let client = self.client
        let location = self.location
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
                        return try await Self.withDeadline(deadline, closing: connection, location: location) {
                            try await body.value(connection)
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: Self.connectionWaitLimit)
                    guard wait.expire() else { return nil }  // the operation has its connection: let it finish
                    throw unavailable
                }
                return try await Self.firstValue(of: &group)
            }
        }
    }

    /// Runs `body`, which talks to the server over `connection`, and closes the connection if `body` has not
    /// finished within `deadline`. A server that vanished without closing (a network partition, a frozen host)
    /// would otherwise keep a query waiting until TCP gives up, a quarter of an hour; closing fails the query at
    /// once, and the call throws `unavailable`. What the server did with a transaction cut this way is decided
    /// by the server alone: without its COMMIT it rolls back.
    static func withDeadline<T: Sendable>(_ deadline: Duration, closing connection: PostgresConnection,
                                          location: PostgresStoreURL, _ body: () async throws -> T) async throws -> T {
        let expired = Flag()
        let late = PortalLinksError(.unavailable, "PostgreSQL at \(location.serverDescription) is unavailable: "
                                    + "the call did not finish within \(deadline.components.seconds) seconds")
        return try await withoutActuallyEscaping(body) { body in
            let body = UncheckedSendable(body)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    do {
                        return try await body.value()
                    } catch {
                        throw expired.isSet ? late : error
                    }
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    expired.set()
                    try? await connection.close()
                    return nil  // the body's own outcome follows: a value that made it in time, or `late`
                }
                return try await firstValue(of: &group)
            }
        }
    }

    /// The first value a child returns, cancelling the others; the first error a child throws.
    private static func firstValue<T: Sendable>(of group: inout ThrowingTaskGroup<T?, any Error>) async throws -> T {
        while let outcome = try await group.next() {
            if let value = outcome {
                group.cancelAll()
                return value
            }
        }
        throw CancellationError()
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

private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
