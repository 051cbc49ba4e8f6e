import PortalLinksCore
import PortalLinksStore
import PortalLinksWire

/// Everything a connection needs to answer without I/O: the link and session verifiers and the active
/// callers, as of one store generation.
public final class ServingSnapshot: Sendable {
    public struct Caller: Sendable, Equatable {
        public let name: String
        public let scopes: Set<String>
    }

    public let verifier: LinkVerifier
    /// Sessions and reset tokens, with what ended sessions early as of this generation.
    public let sessionVerifier: SessionVerifier
    /// Active callers by the SHA-256 of their API key.
    let callersByKeyHash: [[UInt8]: Caller]
    public let generation: UInt64

    public init(verifier: LinkVerifier, sessionVerifier: SessionVerifier, callers: [CallerRecord], generation: UInt64) {
        self.verifier = verifier
        self.sessionVerifier = sessionVerifier
        var byHash: [[UInt8]: Caller] = [:]
        for caller in callers where caller.revokedAt == nil {
            byHash[caller.keyHash] = Caller(name: caller.name, scopes: Set(caller.scopes))
        }
        callersByKeyHash = byHash
        self.generation = generation
    }

    func caller(keyHash: [UInt8]) -> Caller? { callersByKeyHash[keyHash] }

    /// Verifies the token in a VerifyRequest payload and hands `body` the outcome; false when the payload is
    /// not a VerifyRequest. A method here, so that the verifier is used in place rather than copied out of
    /// the snapshot (a retain per table) on every call.
    func verify(_ payload: UnsafeRawBufferPointer, at now: Int64, _ body: (BorrowedLinkVerification) -> Void) -> Bool {
        VerifyCodec.verify(payload, with: verifier, at: now, body)
    }
}
