import Foundation
import NIOCore
import PortalLinksClient
import PortalLinksMessages
import PortalLinksTesting
import PortalLinksWire
@testable import PortalLinksService
import Testing
@testable import PortalLinks

@Suite(.timeLimit(.minutes(1))) struct LifecycleTests {
    /// The CLI in another process rotates in an emergency; the running server refuses the old key's links
    /// within a second, without a restart or a dropped connection.
    @Test func emergencyRotationInAnotherProcessReachesTheServer() async throws {
        let binary = ProcessInfo.processInfo.environment["PORTAL_LINKS_BIN"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/portal-links").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build portal-links first (make test does)")
        let server = try await LiveServer.start(reloadInterval: .milliseconds(250))
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        let client = try server.client(apiKey: server.verifierKey)
        #expect(try await client.verify(token: link.token).valid)

        let rotation = try await Subprocess.run(binary, ["keys", "rotate", "--emergency", "--home", server.home],
                                                environment: ["PATH": "/usr/bin:/bin"])
        #expect(rotation.status == 0)
        // The server reloads every 250 ms here; ten seconds leave room for a machine busy with the other suites
        // (make cluster-test measures the one-second promise on a quiet one).
        let refused = try await eventually(within: .seconds(10)) { try await client.verify(token: link.token).reason == .keyDisabled }
        #expect(refused, "refused without a restart")
        await client.close()
    }

    /// Shutdown with calls in flight: each one is answered, Health turns NOT_SERVING, then the server stops.
    @Test func gracefulShutdownFinishesCallsInFlight() async throws {
        let server = try await LiveServer.start()
        let raw = try await RawConnection(port: server.port)
        var frames = [Frame.request(.authHello, callID: 0, payload: Payload.hello(server.issuerKey))]
        frames += (1...200).map { Frame.request(.linksIssue, callID: UInt32($0), payload: Payload.issue("client-\($0)")) }
        try await raw.send(frames)
        // The Hello's answer shows the server has read the calls (they arrive in one read): only then are they
        // in flight. Calls still unread in the socket when draining starts are not, and get no answer.
        let hello = await raw.receive(1, within: 10)
        let watcher = try await RawConnection(port: server.port)
        await server.group.triggerGracefulShutdown()
        let received = hello + (await raw.receive(200, within: 10))
        #expect(received.count == 201, "every call got an answer")
        let issued = try received.filter { $0.header.callID > 0 && StatusCode(rawValue: $0.header.code) == .ok }
            .map { try Payload.decode($0, as: PortalLinks_V1_IssueResponse.self) }
        let others = received.filter { $0.header.callID > 0 && StatusCode(rawValue: $0.header.code) != .ok }
        #expect(others.allSatisfy { StatusCode(rawValue: $0.header.code) == .unavailable })
        let ledger = try await server.installation.store.ledgerEntries(client: nil, expiringIn: nil)
        #expect(ledger.count == issued.count, "nothing issued without an answer")
        _ = try? await server.running.value
        #expect(await raw.closesWithin(2))
        #expect(await watcher.closesWithin(2))
        try? FileManager.default.removeItem(atPath: server.home)
    }

    @Test func healthReportsNotServingWhileDraining() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        try await raw.send([Frame.request(.healthCheck, callID: 1, payload: ByteBuffer())])
        let before = try Payload.decode(await raw.receive(1)[0], as: PortalLinks_V1_HealthCheckResponse.self)
        #expect(before.status == .serving)
        server.state.beginDraining()
        try await raw.send([Frame.request(.healthCheck, callID: 1, payload: ByteBuffer()),
                            Frame.request(.authHello, callID: 2, payload: Payload.hello(server.verifierKey))])
        let answers = await raw.receive(2)
        let health = try Payload.decode(answers[0], as: PortalLinks_V1_HealthCheckResponse.self)
        #expect(health.status == .notServing)
        #expect(StatusCode(rawValue: answers[1].header.code) == .unavailable)
        // New connections are refused while draining.
        let late = try await RawConnection(port: server.port)
        #expect(await late.closesWithin(2))
    }

    /// A call whose deadline passes while it waits gets DEADLINE_EXCEEDED, and nothing is done for it.
    @Test func passedDeadlinesGetNoWork() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        var frames = [Frame.request(.authHello, callID: 0, payload: Payload.hello(server.issuerKey))]
        for index in 1...400 {
            frames.append(Frame.request(.linksIssue, callID: UInt32(index), deadlineMilliseconds: index > 300 ? 1 : 0,
                                        payload: Payload.issue("client-\(index)")))
        }
        try await raw.send(frames)
        let answers = await raw.receive(401, within: 20)
        #expect(answers.count == 401)
        let statuses = answers.filter { $0.header.callID > 0 }.map { StatusCode(rawValue: $0.header.code) }
        let ok = statuses.filter { $0 == .ok }.count
        #expect(statuses.allSatisfy { $0 == .ok || $0 == .deadlineExceeded })
        #expect(statuses.contains(.deadlineExceeded))
        #expect(try await server.installation.store.ledgerEntries(client: nil, expiringIn: nil).count == ok)
    }

    /// With a small in-flight cap the server stops reading instead of dropping: every call is answered.
    @Test func backpressureNeverDropsCalls() async throws {
        let server = try await LiveServer.start { $0.maximumInFlight = 2 }
        defer { Task { await server.stop() } }
        let raw = try await RawConnection(port: server.port)
        var frames = [Frame.request(.authHello, callID: 0, payload: Payload.hello(server.issuerKey))]
        frames += (1...100).map { Frame.request(.linksIssue, callID: UInt32($0), payload: Payload.issue("client-\($0)")) }
        try await raw.send(frames)
        let answers = await raw.receive(101, within: 20)
        #expect(Set(answers.map(\.header.callID)) == Set(0...100))
        #expect(answers.allSatisfy { StatusCode(rawValue: $0.header.code) == .ok })
    }
}
