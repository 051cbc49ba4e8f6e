import Foundation
import NIOCore
import PortalLinksTesting
import Testing
@testable import PortalLinks
@testable import PortalLinksCore
@testable import PortalLinksGateway
@testable import PortalLinksService

/// Forward auth as each reverse proxy asks for it: nginx (X-Original-URI), Caddy and Traefik
/// (X-Forwarded-Uri), Envoy (the original method and path under a prefix), or the link in a header.
@Suite(.timeLimit(.minutes(2))) struct ForwardAuthTests {
    static func start() async throws -> LiveServer {
        try await LiveServer.start(accountPolicy: ConnectGatewayTests.policy, gateway: {
            $0.linkRedirect = "https://portal.example.com/link-refused"
            $0.sessionRedirect = "/sign-in?from=proxy"
        })
    }

    @Test func aValidLinkPassesWithItsIdentityFromWhereEachProxyPutsIt() async throws {
        let server = try await Self.start()
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Zoë & Co/日本"))
        let key = ["X-Portal-Api-Key": server.verifierKey]
        let port = server.gatewayPort
        let asked: [(String, String, [String: String])] = [
            ("nginx", "/auth/link", ["X-Original-URI": "/join?token=\(link.token)&x=1"]),
            ("caddy, traefik", "/auth/link", ["X-Forwarded-Uri": "/join?token=\(link.token)", "X-Forwarded-Method": "GET"]),
            ("envoy", "/auth/link/join/here?token=\(link.token)", [:]),
            ("header", "/auth/link", ["X-Portal-Link": link.token]),
        ]
        for (proxy, path, headers) in asked {
            for method in ["GET", "HEAD", "POST"] {
                let answer = try await HTTPRequests.send(method, port: port, path, headers: key.merging(headers) { $1 })
                #expect(answer.status == 200, "\(proxy) \(method)")
                #expect(answer.header("x-portal-client-id") == "acme", "\(proxy)")
                #expect(answer.header("x-portal-client-name") == "Zo%C3%AB%20%26%20Co%2F%E6%97%A5%E6%9C%AC", "\(proxy): percent-encoded UTF-8")
                #expect(answer.header("x-portal-link-id") == link.linkID.description)
                #expect(answer.header("x-portal-expires-at") == TimeText.format(link.claims.expiresAt))
            }
        }
    }

    @Test func refusedLinksGet401WithTheReasonOrTheRedirectAskedFor() async throws {
        let server = try await Self.start()
        defer { Task { await server.stop() } }
        let port = server.gatewayPort, key = server.verifierKey
        let now = server.installation.clock()
        let expired = try await server.sign(issuedAt: now - 7_200, expiresAt: now - 3_600)
        let revoked = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        let live = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        var forged = Array(live.token.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        _ = try await server.installation.revokeLink(revoked.linkID)
        #expect(await eventually {
            (try? await HTTPRequests.send(port: port, "/auth/link", headers: ["X-Portal-Api-Key": key, "X-Portal-Link": revoked.token]))?
                .header("x-portal-reason") == "link_revoked"
        }, "a revocation reaches the gateway through the reloader")
        for (token, reason) in [(expired, "expired"), (String(decoding: forged, as: UTF8.self), "bad_signature"),
                                (revoked.token, "link_revoked"), ("garbage", "malformed")] {
            let plain = try await HTTPRequests.send(port: port, "/auth/link", headers: ["X-Portal-Api-Key": key, "X-Portal-Link": token])
            #expect(plain.status == 401 && plain.header("x-portal-reason") == reason, "\(reason)")
            #expect(plain.header("x-portal-client-id") == nil)
            let redirected = try await HTTPRequests.send(port: port, "/auth/link?redirect=1", headers: ["X-Portal-Api-Key": key, "X-Portal-Link": token])
            #expect(redirected.status == 302 && redirected.header("location") == "https://portal.example.com/link-refused?reason=\(reason)")
        }
        let missing = try await HTTPRequests.send(port: port, "/auth/link", headers: ["X-Portal-Api-Key": key, "X-Portal-Redirect": "1"])
        #expect(missing.status == 302 && missing.header("location") == "https://portal.example.com/link-refused?reason=missing")
        // The proxy's own key: missing, unknown, or without the scope. Never redirected: the proxy is misconfigured.
        let noKey = try await HTTPRequests.send(port: port, "/auth/link?redirect=1", headers: ["X-Portal-Link": live.token])
        #expect(noKey.status == 401 && noKey.header("x-portal-reason") == "caller")
        let browserAuthorization = try await HTTPRequests.send(port: port, "/auth/link", headers: ["Authorization": "Bearer \(key)",
                                                                                                    "X-Portal-Link": live.token])
        #expect(browserAuthorization.status == 401, "the Authorization header is the browser's, not the proxy's key")
        let noScope = try await HTTPRequests.send(port: port, "/auth/session", headers: ["X-Portal-Api-Key": key])
        #expect(noScope.status == 403 && noScope.header("x-portal-reason") == "caller")
    }

    @Test func sessionsPassFromTheirCookieOrBearerUntilTheyEnd() async throws {
        let server = try await Self.start()
        defer { Task { await server.stop() } }
        let port = server.gatewayPort, key = server.accountsKey
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        let password = "correct horse battery"
        _ = try await server.installation.register(link: link.token, email: "ana@example.com", password: password, displayName: nil,
                                                   caller: "test")
        let grant = try await server.installation.signIn(email: "ana@example.com", password: password, caller: "test")
        let byCookie = try await HTTPRequests.send(port: port, "/auth/session",
                                                   headers: ["X-Portal-Api-Key": key, "Cookie": "theme=dark; portal_session=\(grant.token)"])
        #expect(byCookie.status == 200 && byCookie.header("x-portal-client-id") == "acme")
        #expect(byCookie.header("x-portal-account-id") == String(grant.account.id))
        #expect(byCookie.header("x-portal-session-id")?.count == 16)
        let byBearer = try await HTTPRequests.send("DELETE", port: port, "/auth/session/api/things",
                                                   headers: ["X-Portal-Api-Key": key, "Authorization": "Bearer \(grant.token)"])
        #expect(byBearer.status == 200)
        try await server.installation.signOut(grant.token, caller: "test", verifier: server.state.snapshot.sessionVerifier)
        #expect(await eventually {
            (try? await HTTPRequests.send(port: port, "/auth/session", headers: ["X-Portal-Api-Key": key, "Cookie": "portal_session=\(grant.token)"]))?
                .header("x-portal-reason") == "ended"
        })
        let redirected = try await HTTPRequests.send(port: port, "/auth/session", headers: ["X-Portal-Api-Key": key, "X-Portal-Redirect": "1"])
        #expect(redirected.status == 302 && redirected.header("location") == "/sign-in?from=proxy&reason=missing")
    }

    /// Forward auth is answered on the event loop when the snapshot decides, and by the router otherwise
    /// (`InlineForwardAuth`): pipelined requests still get their answers in order and the same answers, a
    /// caller added a moment ago is found by the router's reload, and `Connection: close` is honoured.
    @Test func pipelinedRequestsKeepTheirOrderAndEitherPathAnswersTheSame() async throws {
        let server = try await Self.start()
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Zoë"))
        let newcomer = try await server.installation.addCaller(named: "proxy-added-now", scopes: [.verify])
        let body = #"{"token": "\#(link.token)"}"#
        let connect = "POST /portal_links.v1.Links/Verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.verifierKey)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        func auth(_ key: String, close: Bool = false) -> String {
            "GET /auth/link HTTP/1.1\r\nHost: x\r\nX-Portal-Api-Key: \(key)\r\nX-Portal-Link: \(link.token)\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n"
        }
        let (alone, aloneAnswers) = try await HTTPLimitsTests.Bare.connect(server.gatewayPort)
        try await alone.writeAndFlush(ByteBuffer(string: auth(server.verifierKey)))
        #expect(await eventually { aloneAnswers.text.hasSuffix("\r\n\r\n") }, "answered, the connection kept open")
        try await alone.close()
        let (pipelined, answers) = try await HTTPLimitsTests.Bare.connect(server.gatewayPort)
        // A HEAD refused for its missing key: a body would be read as the start of the next answer.
        let headRefused = "HEAD /auth/link HTTP/1.1\r\nHost: x\r\nX-Portal-Link: \(link.token)\r\n\r\n"
        try await pipelined.writeAndFlush(ByteBuffer(string: connect + auth(server.verifierKey) + auth(newcomer) + headRefused
                                                     + auth(server.verifierKey, close: true)))
        try await pipelined.closeFuture.get()

        let texts = answers.text.components(separatedBy: "HTTP/1.1 ").dropFirst()
        #expect(texts.count == 5, "\(answers.text)")
        guard texts.count == 5 else { return }
        #expect(texts[texts.startIndex + 3].hasPrefix("401") && texts[texts.startIndex + 3].hasSuffix("\r\n\r\n"), "no body after HEAD's head")
        var heads = texts.map(Self.head)
        heads.remove(at: 3)
        #expect(heads[0]["content-type"] == "application/json" && answers.text.contains(#""valid":true"#), "the Connect call's answer first")
        for head in heads.dropFirst() {
            #expect(head["status"] == "200" && head["x-portal-client-id"] == "acme" && head["x-portal-client-name"] == "Zo%C3%AB")
        }
        var routed = heads[1], inline = Self.head(String(aloneAnswers.text.dropFirst("HTTP/1.1 ".count)))
        #expect(routed.removeValue(forKey: "date") != nil && inline.removeValue(forKey: "date") != nil)
        #expect(routed == inline, "the answer behind a Connect call (the router's) is the answer of a request alone (the event loop's)")
    }

    /// An answer's status and headers (names in lower case).
    static func head(_ answer: String) -> [String: String] {
        let lines = answer.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        var head = ["status": String(lines[0].prefix(3))]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            head[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return head
    }

    @Test func probesAnswerAndReadinessEndsWithDraining() async throws {
        let server = try await Self.start()
        defer { Task { await server.stop() } }
        for port in [server.gatewayPort, server.metricsPort] {
            #expect(try await HTTPRequests.send(port: port, "/healthz").status == 200)
            #expect(try await HTTPRequests.send(port: port, "/readyz").status == 200)
        }
        server.state.beginDraining()
        #expect(try await HTTPRequests.send(port: server.gatewayPort, "/readyz").status == 503)
        #expect(try await HTTPRequests.send(port: server.gatewayPort, "/healthz").status == 200)
    }
}
