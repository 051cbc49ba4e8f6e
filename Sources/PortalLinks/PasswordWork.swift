/// Where password hashes are computed. One hash costs tens of milliseconds of a core and megabytes of memory
/// by design, so a server runs them on a few threads of their own with a bounded queue
/// (`PortalLinksService.HashingPool`), away from the threads that answer Verify; the CLI and tests run them
/// inline on the calling task.
public protocol PasswordWork: Sendable {
    /// Runs `work` and returns its result; may refuse with a `PortalLinksError` of code `.busy` when too
    /// many hashes are waiting already.
    func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws -> Result
}

/// Hashes on the calling task.
public struct InlinePasswordWork: PasswordWork {
    public init() {}

    public func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws -> Result { work() }
}
