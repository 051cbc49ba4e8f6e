import NIOCore
import Synchronization

/// The address a listener is bound to, for whoever asks before or after it binds (port 0 resolves to the port
/// the system chose); or the error that kept it from binding.
package final class BoundAddress: Sendable {
    private let state = Mutex<(Result<SocketAddress, any Error>?, [CheckedContinuation<SocketAddress, any Error>])>((nil, []))

    package init() {}

    /// Settles the address, once: later calls are ignored.
    package func settle(_ result: Result<SocketAddress, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<SocketAddress, any Error>] in
            guard state.0 == nil else { return [] }
            state.0 = result
            defer { state.1 = [] }
            return state.1
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    package func value() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            let settled = state.withLock { state -> Result<SocketAddress, any Error>? in
                if state.0 == nil { state.1.append(continuation) }
                return state.0
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}
