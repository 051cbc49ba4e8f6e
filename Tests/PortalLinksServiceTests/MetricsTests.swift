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
        var limits = MetricsEndpoint.Limits()
        limits.maximumConnections = 3
        limits.requestTimeout = .seconds(60)
        let server = try await LiveServer.start(metricsLimits: limits)
        defer { Task { await server.stop() } }
        let port = try await server.metrics.listeningAddress().port!
        var held: [RawConnection] = []
        for _ in 0..<3 { held.append(try await RawConnection(port: port)) }
        let over = try await RawConnection(port: port)
        #expect(await over.closesWithin(5), "the 4th connection is closed at once")
        #expect(held.allSatisfy { $0.channel.isActive })
    }

    /// Half-sent requests are closed within the request timeout, and a kept-alive connection after the idle
    /// timeout, while a whole request is still answered.
    @Test func halfSentRequestsAndIdleConnectionsAreClosed() async throws {
        var limits = MetricsEndpoint.Limits()
        limits.requestTimeout = .seconds(2)
        limits.idleTimeout = .seconds(6)
        let server = try await LiveServer.start(metricsLimits: limits)
        defer { Task { await server.stop() } }
        let port = try await server.metrics.listeningAddress().port!
        var halfSent: [RawConnection] = []
        for _ in 0..<10 {
            let raw = try await RawConnection(port: port)
            try await raw.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))
            halfSent.append(raw)
        }
        for raw in halfSent { #expect(await raw.closesWithin(8), "a half-sent request is closed within the request timeout") }
        // A channel with no handlers: the HTTP answer is read and dropped, not taken for a protocol frame.
        let whole = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        try await whole.writeAndFlush(ByteBuffer(string: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
        try await Task.sleep(for: .milliseconds(3_500))
        #expect(whole.isActive, "answered, and kept alive past the request timeout")
        let deadline = ContinuousClock.now + .seconds(10)
        while whole.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!whole.isActive, "closed after the idle timeout")
        let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
    }
}
