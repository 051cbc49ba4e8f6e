import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import PortalLinks
import PortalLinksCore
import PortalLinksService
import PortalLinksWire

/// Forward authentication for reverse proxies (nginx `auth_request`, Caddy `forward_auth`, Traefik
/// `ForwardAuth`, Envoy `ext_authz` in HTTP mode): the proxy asks whether a request may pass; 200 with the
/// identity in `X-Portal-*` headers lets it through, 401 with `X-Portal-Reason` (or, when asked, a 302 to a
/// configured page) stops it. docs/http.md has each proxy's configuration.
///
/// The answers are decided here once, for two callers: `InlineForwardAuth` answers on the event loop when the
/// snapshot in force decides (the common case, as the binary door answers Verify from its read buffer), and
/// `ForwardAuthRoutes` answers on Hummingbird when a reload may be needed (a key not seen yet) or the request
/// is not one the inline handler takes.
struct ForwardAuth: Sendable {
    let calls: MessageCalls
    let callers: CallerCheck
    let metrics: ServerMetrics
    /// The session cookie's name and the redirect pages.
    let configuration: HTTPGateway.Configuration

    /// The two endpoints, each with any path below it (Envoy sends the original path under the prefix).
    enum Endpoint: Sendable {
        case link, session

        static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

        init?(_ request: HTTPRequest) {
            guard let path = request.path, Self.methods.contains(request.method) else { return nil }
            let route = path.prefix { $0 != "?" }
            if Self.matches(route, "/auth/link") { self = .link }
            else if Self.matches(route, "/auth/session") { self = .session }
            else { return nil }
        }

        private static func matches(_ route: Substring, _ prefix: String) -> Bool {
            route == prefix || (route.hasPrefix(prefix) && route.dropFirst(prefix.count).first == "/")
        }

        var scope: CallerScope { self == .link ? .verify : .accounts }
    }

    /// An answer, to be written by either door's adapter.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headerFields: HTTPFields
        var body = ""
    }

    static let apiKey = HTTPField.Name("X-Portal-Api-Key")!
    static let link = HTTPField.Name("X-Portal-Link")!
    static let redirect = HTTPField.Name("X-Portal-Redirect")!
    static let reason = HTTPField.Name("X-Portal-Reason")!
    static let clientID = HTTPField.Name("X-Portal-Client-Id")!
    static let clientName = HTTPField.Name("X-Portal-Client-Name")!
    static let linkID = HTTPField.Name("X-Portal-Link-Id")!
    static let expiresAt = HTTPField.Name("X-Portal-Expires-At")!
    static let accountID = HTTPField.Name("X-Portal-Account-Id")!
    static let sessionID = HTTPField.Name("X-Portal-Session-Id")!
    /// Where proxies put the original request's URI: nginx (as configured in docs/http.md), then Caddy and Traefik.
    static let originalURIs = [HTTPField.Name("X-Original-URI")!, HTTPField.Name("X-Forwarded-Uri")!]

    /// The answer, with a reload first when the caller's key or the token's key is not in the snapshot.
    func answer(_ endpoint: Endpoint, _ request: HTTPRequest, peer: String) async -> Answer {
        let started = NIODeadline.now()
        let caller = await callers.caller(apiKey: request.headerFields[Self.apiKey], needs: endpoint.scope, from: peer)
        if case .failure(let refusal) = caller { return Self.callerRefused(refusal, request) }
        switch endpoint {
        case .link:
            let token = linkToken(request)
            return linkAnswer(request, token == nil ? nil : await calls.verifyLink(token!), started: started)
        case .session:
            let token = sessionToken(request)
            return sessionAnswer(request, token == nil ? nil : await calls.verifySession(token!), started: started)
        }
    }

    /// The same answer from the snapshot in force, or nil when only `answer` can give it (a key not seen yet:
    /// the caller's, to be throttled and reloaded for, or the token's, to be reloaded for).
    func answerNow(_ endpoint: Endpoint, _ request: HTTPRequest, peer: String) -> Answer? {
        let started = NIODeadline.now()
        guard let caller = callers.callerNow(apiKey: request.headerFields[Self.apiKey], needs: endpoint.scope, from: peer) else { return nil }
        if case .failure(let refusal) = caller { return Self.callerRefused(refusal, request) }
        switch endpoint {
        case .link:
            guard let token = linkToken(request) else { return linkAnswer(request, nil, started: started) }
            return calls.verifyLinkNow(token).map { linkAnswer(request, $0, started: started) }
        case .session:
            guard let token = sessionToken(request) else { return sessionAnswer(request, nil, started: started) }
            return calls.verifySessionNow(token).map { sessionAnswer(request, $0, started: started) }
        }
    }

    /// `verification` is nil when the request carries no link.
    private func linkAnswer(_ request: HTTPRequest, _ verification: LinkVerification?, started: NIODeadline) -> Answer {
        guard let verification else {
            metrics.record(.linksVerify, status: .invalidArgument, latency: .now() - started)
            return refused("missing", request, redirect: configuration.linkRedirect)
        }
        metrics.record(.linksVerify, status: .ok, verified: .some(verification.reason), latency: .now() - started)
        guard verification.isValid, let claims = verification.claims else {
            return refused(verification.reason?.rawValue ?? "malformed", request, redirect: configuration.linkRedirect)
        }
        return Self.identity(clientID: claims.clientID.description, clientName: claims.displayName.map(HeaderText.percentEncoded) ?? "",
                             linkID: verification.linkID?.description ?? "", expiresAt: claims.expiresAt)
    }

    /// `outcome` is nil when the request carries no session token.
    private func sessionAnswer(_ request: HTTPRequest, _ outcome: Result<SessionClaims, SessionVerifier.Refusal>?,
                               started: NIODeadline) -> Answer {
        guard let outcome else {
            metrics.record(.sessionsVerify, status: .invalidArgument, latency: .now() - started)
            return refused("missing", request, redirect: configuration.sessionRedirect)
        }
        metrics.record(.sessionsVerify, status: .ok, latency: .now() - started)
        switch outcome {
        case .success(let claims):
            return Self.identity(clientID: claims.clientID.description, accountID: String(claims.accountID),
                                 sessionID: Hex.padded(claims.sessionID, digits: 16), expiresAt: claims.expiresAt)
        case .failure(let refusal):
            return refused(refusal.rawValue, request, redirect: configuration.sessionRedirect)
        }
    }

    /// 200 with every identity header, empty where it does not apply: a proxy that copies them (Caddy,
    /// Traefik, Envoy) then overwrites each one a browser may have sent.
    private static func identity(clientID: String, clientName: String = "", linkID: String = "", accountID: String = "",
                                 sessionID: String = "", expiresAt: Int64) -> Answer {
        Answer(status: .ok, headerFields: [
            .cacheControl: "no-store",
            Self.clientID: clientID, Self.clientName: clientName, Self.linkID: linkID,
            Self.accountID: accountID, Self.sessionID: sessionID,
            Self.expiresAt: TimeText.format(expiresAt),
        ])
    }

    /// The proxy's own key is in `X-Portal-Api-Key` (the `Authorization` header belongs to the browser's
    /// request, which proxies copy onto the auth request).
    /// With the reason in words for whoever configures the proxy (none for HEAD, whose answer has no body).
    private static func callerRefused(_ error: ConnectError, _ request: HTTPRequest) -> Answer {
        Answer(status: error.httpStatus,
               headerFields: [.cacheControl: "no-store", Self.reason: "caller", .contentType: "text/plain; charset=utf-8"],
               body: request.method == .head ? "" : "the proxy's API key (X-Portal-Api-Key): \(error.message)\n")
    }

    /// The link: an `X-Portal-Link` header, or the `token` query parameter of the original request's URI (as
    /// the proxy forwards it), or of this request's own URI (Envoy's path prefix, or a direct call).
    private func linkToken(_ request: HTTPRequest) -> String? {
        if let header = request.headerFields[Self.link], !header.isEmpty { return header }
        for name in Self.originalURIs {
            if let original = request.headerFields[name], let token = URI(original).queryParameters["token"], !token.isEmpty {
                return String(token)
            }
        }
        return Self.query(request, "token")
    }

    /// The session token: the configured cookie, or `Authorization: Bearer`.
    private func sessionToken(_ request: HTTPRequest) -> String? {
        let token = Cookies(from: request.headerFields[values: .cookie])[configuration.sessionCookie]?.value
            ?? CallerCheck.bearer(request.headerFields)
        return token?.isEmpty == false ? token : nil
    }

    private static func query(_ request: HTTPRequest, _ name: Substring) -> String? {
        guard let value = URI(request.path ?? "").queryParameters[name], !value.isEmpty else { return nil }
        return String(value)
    }

    /// 401 with the reason, or a 302 to `redirect` when the proxy asks for one (`X-Portal-Redirect: 1` or
    /// `redirect=1` on the auth request; Caddy and Traefik hand such an answer back to the browser).
    private func refused(_ reason: String, _ request: HTTPRequest, redirect: String?) -> Answer {
        let asked = request.headerFields[Self.redirect] == "1" || Self.query(request, "redirect") == "1"
        guard asked, let redirect else {
            return Answer(status: .unauthorized, headerFields: [.cacheControl: "no-store", Self.reason: reason])
        }
        let location = redirect + (redirect.contains("?") ? "&" : "?") + "reason=" + HeaderText.percentEncoded(reason)
        return Answer(status: .found, headerFields: [.cacheControl: "no-store", Self.reason: reason, .location: location])
    }
}
