import Logging
import NIOCore
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// The method table for a door that takes whole messages, one request at a time (the HTTP gateway): the same
/// callers, handlers, reloads and failures as the binary protocol, with no connection. The binary door keeps
/// its own inline paths for Links.Verify, Sessions.Verify and Health, which answer from the read buffer.
package struct MessageCalls: Sendable {
    let state: ServingState
    let accounts: AccountCalls
    let issuer: IssueWorker
    let helloThrottle: FailedHelloThrottle
    let logger: Logger

    /// What an API key presented with a request comes to.
    package enum Authentication: Sendable, Equatable {
        case caller(ServingSnapshot.Caller)
        case unknownKey
        /// The address has failed too often; the key was not looked at.
        case throttled
    }

    /// Looks the key up in the snapshot (no store read), reloading once when it is unknown, as a Hello does;
    /// failures count against `address` in the same budget as failed Hellos on the binary port.
    package func authenticate(apiKey: String, from address: String?) async -> Authentication {
        if let found = knownCaller(apiKey: apiKey) { return .caller(found) }
        let keyHash = SHA256.hash(Array(apiKey.utf8))
        if let address, case .refuse(let refused) = helloThrottle.failure(from: address) {
            if let refused {
                logger.warning("throttling failed authentication from this address", metadata: ["auth.refused": "\(refused)"])
            }
            return .throttled
        }
        await state.reloadForUnknownKey()
        if let found = state.snapshot.caller(keyHash: keyHash) { return .caller(found) }
        return .unknownKey
    }

    /// The caller whose key the snapshot in force holds, or nil (then `authenticate` throttles and reloads).
    /// Synchronous, for answers given on the event loop.
    package func knownCaller(apiKey: String) -> ServingSnapshot.Caller? {
        state.snapshot.caller(keyHash: SHA256.hash(Array(apiKey.utf8)))
    }

    /// Whether the server is serving (false from the moment draining starts).
    package var isServing: Bool { !state.isDraining }

    package var now: Int64 { state.installation.clock() }

    /// Verifies a link against the snapshot in force, reloading once when it names a key not seen yet.
    package func verifyLink(_ token: String) async -> LinkVerification {
        if let verification = verifyLinkNow(token) { return verification }
        await state.reloadForUnknownKey()
        return state.snapshot.verifier.verify(token, at: now)
    }

    /// Verifies a link against the snapshot in force, or nil when it names a key not seen yet (then only
    /// `verifyLink`, which reloads, can answer). Synchronous, for answers given on the event loop.
    package func verifyLinkNow(_ token: String) -> LinkVerification? {
        let verification = state.snapshot.verifier.verify(token, at: now)
        return verification.reason == .unknownKey ? nil : verification
    }

    /// Verifies a session token the same way.
    package func verifySession(_ token: String) async -> Result<SessionClaims, SessionVerifier.Refusal> {
        if let outcome = verifySessionNow(token) { return outcome }
        await state.reloadForUnknownKey()
        return state.snapshot.sessionVerifier.verifySession(token, at: now)
    }

    /// As `verifyLinkNow`, for a session token.
    package func verifySessionNow(_ token: String) -> Result<SessionClaims, SessionVerifier.Refusal>? {
        let outcome = state.snapshot.sessionVerifier.verifySession(token, at: now)
        if case .failure(.unknownKey) = outcome { return nil }
        return outcome
    }

    /// Calls `method` with a request of its `requestType` for `caller`, whose scopes the door has checked.
    package func call(_ method: ServerMethod, _ request: any SwiftProtobuf.Message, caller: String,
                      deadline: NIODeadline?) async -> Result<any SwiftProtobuf.Message, CallFailure> {
        switch method.execution {
        case .inline(.health):
            return Self.health(request as! PortalLinks_V1_HealthCheckRequest, serving: isServing).map { $0 }
        case .inline(.verify):
            let verification = await verifyLink((request as! PortalLinks_V1_VerifyRequest).token)
            // The binary door's own encoding, so that both doors answer byte for byte the same message.
            var buffer = ByteBuffer()
            VerifyCodec.writeResponse(verification, to: &buffer)
            return .success(try! PortalLinks_V1_VerifyResponse(serializedBytes: Array(buffer.readableBytesView)))
        case .inline(.verifySession):
            let token = (request as! PortalLinks_V1_SessionVerifyRequest).token
            return .success(AccountCalls.sessionVerifyResponse(await verifySession(token)))
        case .inline(.hello):
            return .failure(CallFailure(status: .unimplemented, message: "Auth.Hello authenticates a connection of the binary protocol"))
        case .offLoop(let work):
            let call = CallContext(accounts: accounts, issuer: issuer, caller: caller, deadline: deadline)
            return await method.perform(work, request, call, logger: logger)
        }
    }
}

extension MessageCalls {
    /// Health.Check for both doors: SERVING or NOT_SERVING for this service's name (or none), NOT_FOUND for any other.
    static func health(_ request: PortalLinks_V1_HealthCheckRequest,
                       serving: Bool) -> Result<PortalLinks_V1_HealthCheckResponse, CallFailure> {
        guard request.service.isEmpty || request.service == "portal_links.v1" else {
            return .failure(CallFailure(status: .notFound, message: "unknown service"))
        }
        var response = PortalLinks_V1_HealthCheckResponse()
        response.status = serving ? .serving : .notServing
        return .success(response)
    }
}

extension ServerMethod {
    /// Runs an off-loop method's work for either door: nothing once the deadline has passed, and failures
    /// turned into the call's answer, storage details logged for staff rather than answered.
    func perform(_ work: OffLoopWork, _ request: any SwiftProtobuf.Message, _ call: CallContext,
                 logger: Logger) async -> Result<any SwiftProtobuf.Message, CallFailure> {
        if let deadline = call.deadline, deadline < .now() { return .failure(.deadlinePassed) }
        do { return .success(try await work(request, call)) } catch {
            let failure = CallFailure.from(error)
            if failure.status == .internal || failure.status == .unavailable {
                logger.error("call failed", metadata: ["call.method": "\(name)", "error": "\(error)"])
            } else if failure.status == .unauthenticated || failure.status == .resourceExhausted {
                // Failed sign-ins and the like, for spotting guessing (details in the activity log).
                logger.info("call refused", metadata: ["call.method": "\(name)", "call.status": "\(failure.status)"])
            }
            return .failure(failure)
        }
    }
}
