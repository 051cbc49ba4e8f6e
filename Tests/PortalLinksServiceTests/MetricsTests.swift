import Foundation
import PortalLinksTesting
import NIOCore
import NIOPosix
import PortalLinksWire
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PortalLinks
import PortalLinksService
import PortalLinksGateway

@Suite(.timeLimit(.minutes(1))) struct MetricsTests {
    @Test func prometheusEndpointCountsCallsResultsAndLatency() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.stop() } }
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        let raw = try await RawConnection(port: server.port)
        try await raw.send([
            Frame.request(.authHello, callID: 1, payload: Payload.hello(server.verifierKey)),
            Frame.request(.linksVerify, callID: 2, payload: Payload.verify(link.token)),
            Frame.request(.linksVerify, callID: 3, payload: Payload.verify("garbage")),
            Frame.request(.linksVerify, callID: 4, payload: Payload.verify("garbage")),
            Frame.request(MethodID(rawValue: 42), callID: 5, payload: ByteBuffer()),
        ])
        #expect(await raw.receive(5).count == 5)
        let port = try await server.metrics.listeningAddress().port!
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("portal_links_requests_total{method=\"Links.Verify\",status=\"OK\"} 3"))
        #expect(text.contains("portal_links_requests_total{method=\"other\",status=\"UNIMPLEMENTED\"} 1"))
        #expect(text.contains("portal_links_verify_results_total{result=\"valid\"} 1"))
        #expect(text.contains("portal_links_verify_results_total{result=\"malformed\"} 2"))
        #expect(text.contains("portal_links_request_duration_seconds_count{method=\"Links.Verify\"} 3"))
        #expect(text.contains("portal_links_open_connections 1"))
        #expect(text.contains("portal_links_key_ring_generation "))
        #expect(!text.contains(link.token) && !text.contains(server.verifierKey), "no secrets in metrics")
        let (_, missing) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/other")!)
        #expect((missing as? HTTPURLResponse)?.statusCode == 404)
        await raw.close()
    }

    /// The metrics port shares the process's file descriptors with the verify listener: connections over the cap
    /// are closed at once.
    @Test func connectionsOverTheCapAreClosedAtOnce() async throws {
        var limits = HTTPGateway.metricsLimits
        limits.maximumConnections = 3
        limits.headerTimeout = .seconds(60)
        let server = try await LiveServer.start(metricsLimits: limits)
        defer { Task { await server.stop() } }
        let port = try await server.metrics.listeningAddress().port!
        // Connections are admitted on their own event loops, so which of four is refused is not fixed: one is.
        var opened: [RawConnection] = []
        for _ in 0..<4 { opened.append(try await RawConnection(port: port)) }
        #expect(await eventually { opened.filter { !$0.channel.isActive }.count == 1 }, "one of four is closed at once")
        #expect(await eventually { server.metrics.openConnections == 3 })
    }
}
