/// Lifetimes and tolerances that staff may tune.
public struct LinkPolicy: Sendable {
    /// Lifetime of a link issued without `--expires`.
    public var defaultLifetime: Int64 = 90 * 86_400
    /// Longest lifetime a link may be issued with.
    public var maximumLifetime: Int64 = 365 * 86_400
    /// Seconds of clock difference tolerated at both ends of a link's lifetime.
    public var leeway: Int64 = 60

    public init() {}
}
