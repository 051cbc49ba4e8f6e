import PortalLinksCore
import PortalLinksStore

/// Everything a connection needs to answer without I/O: the verifier and the active callers, as of one
/// store generation.
public final class ServingSnapshot: Sendable {
    public struct Caller: Sendable, Equatable {
        public let name: String
        public let scopes: Set<String>
    }

    public let verifier: LinkVerifier
    /// Active callers by the SHA-256 of their API key.
    let callersByKeyHash: [[UInt8]: Caller]
    public let generation: UInt64

    public init(verifier: LinkVerifier, callers: [CallerRecord], generation: UInt64) {
        self.verifier = verifier
        var byHash: [[UInt8]: Caller] = [:]
        for caller in callers where caller.revokedAt == nil {
            byHash[caller.keyHash] = Caller(name: caller.name, scopes: Set(caller.scopes))
        }
        callersByKeyHash = byHash
        self.generation = generation
    }

    func caller(keyHash: [UInt8]) -> Caller? { callersByKeyHash[keyHash] }
}
