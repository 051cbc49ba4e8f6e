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
/// configured page) stops it. Every method is accepted, and any path below the endpoint, because Envoy sends
/// the original method and path under a prefix. docs/http.md has each proxy's configuration.
struct ForwardAuthRoutes: Sendable {
    let calls: MessageCalls
    let callers: CallerCheck
    let metrics: ServerMetrics
    /// The session cookie's name and the redirect pages.
    let configuration: HTTPGateway.Configuration

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

    static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    func register(on router: Router<GatewayContext>) {
        for path in ["/auth/link", "/auth/link/**"] {
            for method in Self.methods { router.on(RouterPath(path), method: method) { request, context in await link(request, context) } }
        }
        for path in ["/auth/session", "/auth/session/**"] {
            for method in Self.methods { router.on(RouterPath(path), method: method) { request, context in await session(request, context) } }
        }
    }

    private func link(_ request: Request, _ context: GatewayContext) async -> Response {
        let started = NIODeadline.now()
        if let refusal = await callerRefusal(request, context, needs: .verify) { return refusal }
        guard let token = linkToken(request) else {
            metrics.record(.linksVerify, status: .invalidArgument, latency: .now() - started)
            return refused("missing", request, redirect: configuration.linkRedirect)
        }
        let verification = await calls.verifyLink(token)
        metrics.record(.linksVerify, status: .ok, verified: .some(verification.reason), latency: .now() - started)
        guard verification.isValid, let claims = verification.claims else {
            return refused(verification.reason?.rawValue ?? "malformed", request, redirect: configuration.linkRedirect)
        }
        return Self.identity(clientID: claims.clientID.description, clientName: claims.displayName.map(HeaderText.percentEncoded) ?? "",
                             linkID: verification.linkID?.description ?? "", expiresAt: claims.expiresAt)
    }

    private func session(_ request: Request, _ context: GatewayContext) async -> Response {
        let started = NIODeadline.now()
        if let refusal = await callerRefusal(request, context, needs: .accounts) { return refusal }
        guard let token = request.cookies[configuration.sessionCookie]?.value ?? CallerCheck.bearer(request.headers),
              !token.isEmpty else {
            metrics.record(.sessionsVerify, status: .invalidArgument, latency: .now() - started)
            return refused("missing", request, redirect: configuration.sessionRedirect)
        }
        let outcome = await calls.verifySession(token)
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
                                 sessionID: String = "", expiresAt: Int64) -> Response {
        Response(status: .ok, headers: [
            .cacheControl: "no-store",
            Self.clientID: clientID, Self.clientName: clientName, Self.linkID: linkID,
            Self.accountID: accountID, Self.sessionID: sessionID,
            Self.expiresAt: TimeText.format(expiresAt),
        ])
    }

    /// The proxy's own key, in `X-Portal-Api-Key` (the `Authorization` header belongs to the browser's request,
    /// which proxies copy onto the auth request).
    private func callerRefusal(_ request: Request, _ context: GatewayContext, needs scope: CallerScope) async -> Response? {
        switch await callers.caller(apiKey: request.headers[Self.apiKey], needs: scope, from: context.peer) {
        case .success: return nil
        case .failure(let error):
            return Response(status: error.httpStatus, headers: [.cacheControl: "no-store", Self.reason: "caller",
                                                                 .contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "the proxy's API key (X-Portal-Api-Key): \(error.message)\n")))
        }
    }

    /// The link: an `X-Portal-Link` header, or the `token` query parameter of the original request's URI (as
    /// the proxy forwards it), or of this request's own URI (Envoy's path prefix, or a direct call).
    private func linkToken(_ request: Request) -> String? {
        if let header = request.headers[Self.link], !header.isEmpty { return header }
        for name in Self.originalURIs {
            if let original = request.headers[name], let token = URI(original).queryParameters["token"], !token.isEmpty {
                return String(token)
            }
        }
        return request.uri.queryParameters["token"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// 401 with the reason, or a 302 to `redirect` when the proxy asks for one (`X-Portal-Redirect: 1` or
    /// `redirect=1` on the auth request; Caddy and Traefik hand such an answer back to the browser).
    private func refused(_ reason: String, _ request: Request, redirect: String?) -> Response {
        let asked = request.headers[Self.redirect] == "1" || request.uri.queryParameters["redirect"] == "1"
        guard asked, let redirect else {
            return Response(status: .unauthorized, headers: [.cacheControl: "no-store", Self.reason: reason])
        }
        let location = redirect + (redirect.contains("?") ? "&" : "?") + "reason=" + HeaderText.percentEncoded(reason)
        return Response(status: .found, headers: [.cacheControl: "no-store", Self.reason: reason, .location: location])
    }
}
