import Foundation
import PortalLinksClient
import PortalLinksMessages
import PortalLinksTesting
import PortalLinksWire
import Testing
@testable import PortalLinks

@Suite(.timeLimit(.minutes(1))) struct AuthenticationTests {
    @Test func healthNeedsNoAuthentication() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let client = try server.client()
        #expect(try await client.health() == .serving)
        await #expect(throws: PortalLinksClientError(code: .notFound, message: "unknown service")) {
            _ = try await client.health(service: "something.else")
        }
        await client.close()
    }

    @Test func everyOtherMethodNeedsHelloFirst() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let client = try server.client()
        do {
            _ = try await client.verify(token: "x")
            Issue.record("verify without hello was answered")
        } catch let error as PortalLinksClientError {
            #expect(error.code == .unauthenticated)
        }
        await client.close()
    }

    @Test func helloWithGoodBadAndRevokedKeys() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let good = try server.client(apiKey: server.verifierKey)
        let hello = try await good.hello()
        #expect(hello.caller == "frontend" && hello.scopes == ["verify"])
        _ = try await good.verify(token: "AQ")

        await #expect(throws: PortalLinksClientError.self) { _ = try await server.client(apiKey: "plk_wrong").hello() }

        // Revoked in the store: the open connection loses its authentication within a second.
        try await server.installation.revokeCaller(named: "frontend")
        let refused = await eventually {
            do {
                _ = try await good.verify(token: "AQ")
                return false
            } catch {
                return (error as? PortalLinksClientError)?.code == .unauthenticated
            }
        }
        #expect(refused)
        await #expect(throws: PortalLinksClientError.self) { _ = try await server.client(apiKey: server.verifierKey).hello() }
        await good.close()
    }

    @Test func aCallerAddedAMomentAgoIsAcceptedAtOnce() async throws {
        let server = try await LiveServer.start(reloadInterval: .seconds(3_600))
        defer { Task { await server.stop() } }
        let key = try await server.installation.addCaller(named: "newcomer", scopes: [.verify])
        let client = try server.client(apiKey: key)
        #expect(try await client.hello().caller == "newcomer")
        await client.close()
    }

    @Test func scopesAreEnforced() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let verifier = try server.client(apiKey: server.verifierKey)
        var request = PortalLinks_V1_IssueRequest()
        request.clientID = "acme"
        do {
            _ = try await verifier.issue(request)
            Issue.record("a verify-only caller issued a link")
        } catch let error as PortalLinksClientError {
            #expect(error.code == .permissionDenied)
        }
        let issued = try await server.client(apiKey: server.issuerKey).issue(request)
        #expect(issued.url == "https://portal.example.com/join?token=\(issued.token)")
        #expect(try await verifier.verify(token: issued.token).valid)
        await verifier.close()
    }

    @Test func aReadFullOfBadHellosMeetsTheLimitAtOnce() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        try await raw.send((1...500).map { Frame.request(.authHello, callID: UInt32($0), payload: Payload.hello("plk_guess\($0)")) })
        let answers = await raw.receive(500, within: 3)
        #expect(answers.count <= 3, "no more than the limit of attempts is answered")
        #expect(answers.allSatisfy { StatusCode(rawValue: $0.header.code) == .unauthenticated })
        #expect(await raw.closesWithin(2))
    }

    @Test func aLateRefusalDoesNotUndoALogin() async throws {
        let server = try await LiveServer.start(reloadInterval: .seconds(3_600))
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        try await raw.send([Frame.request(.authHello, callID: 1, payload: Payload.hello("plk_unknown")),
                            Frame.request(.authHello, callID: 2, payload: Payload.hello(server.verifierKey))])
        #expect(await raw.receive(2).count == 2)
        try await raw.send([Frame.request(.linksVerify, callID: 3, payload: Payload.verify("AQ"))])
        let answer = await raw.receive(1)
        #expect(answer.first.map { StatusCode(rawValue: $0.header.code) } == .ok)
    }

    @Test func repeatedFailedHellosCloseTheConnection() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        try await raw.send((1...3).map { Frame.request(.authHello, callID: UInt32($0), payload: Payload.hello("plk_nope")) })
        let answers = await raw.receive(3)
        #expect(answers.map { StatusCode(rawValue: $0.header.code) } == [.unauthenticated, .unauthenticated, .unauthenticated])
        #expect(await raw.closesWithin(2))
    }
}

@Suite(.timeLimit(.minutes(1))) struct ClientReconnectTests {
    /// The server closes an idle connection; the client's next call connects and authenticates again.
    @Test func theClientReconnectsAfterADroppedConnection() async throws {
        // Three seconds: long enough that a stall of this busy test process between connecting and saying Hello
        // does not close the connection under a call.
        let server = try await LiveServer.start { $0.idleTimeout = .seconds(3) }
        defer { Task { await server.stop() } }
        let client = try server.client(apiKey: server.verifierKey)
        #expect(try await client.verify(token: "AQ").reason == .malformed)
        #expect(await eventually(within: .seconds(15)) { server.server.openConnections == 0 }, "the idle connection was closed")
        #expect(try await client.verify(token: "AQ").reason == .malformed)
        #expect(try await client.hello().caller == "frontend")
        await client.close()
    }
}
