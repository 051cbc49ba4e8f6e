/// Polls `condition` until it holds or `limit` has passed; whether it held. For changes that reach a server
/// through its reloader: servers promise a second on a quiet machine (make cluster-test measures it), and the
/// suites share two cores with password hashing and CLI processes, hence five by default.
public func eventually(within limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
