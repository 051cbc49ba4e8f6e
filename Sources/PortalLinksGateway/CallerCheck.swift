import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import PortalLinksService
import PortalLinks
import PortalLinksWire

/// The caller behind an HTTP request: its API key checked as a Hello checks it (the snapshot's callers, no
/// store read per request, failures throttled per client address), then its scopes.
struct CallerCheck: Sendable {
    let calls: MessageCalls
    let logger: Logger

    /// The caller's name, or the Connect error to answer.
    func caller(apiKey: String?, needs scope: CallerScope, from peer: String) async -> Result<String, ConnectError> {
        if let known = callerNow(apiKey: apiKey, needs: scope, from: peer) { return known }
        return check(await calls.authenticate(apiKey: apiKey ?? "", from: peer), needs: scope, from: peer)
    }

    /// The same from the snapshot in force, or nil when the key is not in it (then only `caller`, which
    /// throttles and reloads, can answer). Synchronous, for answers given on the event loop.
    func callerNow(apiKey: String?, needs scope: CallerScope, from peer: String) -> Result<String, ConnectError>? {
        guard let apiKey, !apiKey.isEmpty else {
            return .failure(ConnectError(status: .unauthenticated, message: "an API key is required"))
        }
        return calls.knownCaller(apiKey: apiKey).map { check(.caller($0), needs: scope, from: peer) }
    }

    /// The caller's name, or the Connect error to answer, once the key is looked up.
    private func check(_ authentication: MessageCalls.Authentication, needs scope: CallerScope, from peer: String) -> Result<String, ConnectError> {
        switch authentication {
        case .caller(let caller):
            guard caller.scopes.contains(scope.rawValue) else {
                return .failure(ConnectError(status: .permissionDenied, message: "this caller lacks the '\(scope.rawValue)' scope"))
            }
            return .success(caller.name)
        case .unknownKey:
            // As a refused Hello is logged on the binary port: for spotting guessing, and misconfigured proxies.
            logger.info("API key refused", metadata: ["http.peer": "\(peer)"])
            return .failure(ConnectError(status: .unauthenticated, message: "unknown or revoked API key"))
        case .throttled:
            return .failure(ConnectError(status: .resourceExhausted, message: "too many failed authentications from this address; retry later"))
        }
    }

    /// The key in `Authorization: Bearer KEY` (the scheme in any case), or nil.
    static func bearer(_ headers: HTTPFields) -> String? {
        guard let value = headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
