import Foundation
import Logging
import NIOCore
import NIOEmbedded
import PortalLinksMessages
import PortalLinksSQLite
import PortalLinksWire
import Testing
@testable import PortalLinks
@testable import PortalLinksService

/// The connection handler on an `EmbeddedChannel`: no socket, and time moves only when a test moves it, so
/// the timeouts are checked to the tick and nothing waits on the wall clock.
@Suite struct ConnectionHandlerTests {
    @Test func aSilentConnectionClosesAtTheIdleLimitAndOnlyThen() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.idleTimeout = .seconds(60); $0.partialFrameTimeout = .seconds(10) } test: { connection in
            connection.advance(.seconds(9))
            #expect(connection.isOpen)
            connection.advance(.seconds(1))
            #expect(!connection.isOpen, "without a Hello the frame timeout is the idle limit")
        }
        try fixture.connection { $0.idleTimeout = .seconds(60) } test: { connection in
            try connection.send([.request(.authHello, callID: 1, payload: Payload.hello(fixture.verifierKey))])
            #expect(try connection.answers().map(\.status) == [.ok])
            // A call every 50 seconds keeps it open for ten minutes; then a minute of silence closes it.
            for index in 2...13 {
                connection.advance(.seconds(50))
                try connection.send([.request(.healthCheck, callID: UInt32(index), payload: ByteBuffer())])
                #expect(try connection.answers().count == 1)
            }
            connection.advance(.seconds(59))
            #expect(connection.isOpen)
            connection.advance(.seconds(1))
            #expect(!connection.isOpen)
        }
    }

    @Test func aFrameLeftUnfinishedClosesTheConnectionAtTheFrameTimeout() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.partialFrameTimeout = .seconds(10) } test: { connection in
            try connection.send([.request(.authHello, callID: 1, payload: Payload.hello(fixture.verifierKey))])
            _ = try connection.answers()
            // A header promising 100 bytes, then one byte a second: dripping does not keep a frame alive.
            try connection.send(bytes: [0x01, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 100])
            for _ in 1...9 {
                connection.advance(.seconds(1))
                if connection.isOpen { try connection.send(bytes: [0]) }
            }
            #expect(connection.isOpen, "nine seconds in")
            connection.advance(.seconds(1))
            #expect(!connection.isOpen, "closed ten seconds after the frame began, though bytes kept coming")
        }
    }

    @Test func aBusyPipelineIsNotTimedOut() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.partialFrameTimeout = .seconds(2) } test: { connection in
            var stream = try Frame.encode([.request(.authHello, callID: 0, payload: Payload.hello(fixture.verifierKey))]
                + (1...120).map { .request(.healthCheck, callID: UInt32($0), payload: ByteBuffer()) })
            // 23-byte pieces half a second apart: nearly every read ends mid-frame, for far longer than the frame
            // timeout (the Hello, the longest frame, takes four pieces).
            var answered = 0
            while stream.readableBytes > 0 {
                try connection.send(stream.readSlice(length: min(23, stream.readableBytes))!)
                answered += try connection.answers().count
                connection.advance(.milliseconds(500))
                guard connection.isOpen else { break }
            }
            #expect(connection.isOpen && answered == 121, "every call answered; each completed frame restarts the clock")
        }
    }

    @Test func callsBeforeAHelloAreLimitedHealthIsNot() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.maximumCallsBeforeHello = 16 } test: { connection in
            try connection.send((1...40).map { .request(.healthCheck, callID: UInt32($0), payload: ByteBuffer()) })
            #expect(try connection.answers().count == 40, "a balancer's probes need no Hello")
            try connection.send((1...40).map { .request(.linksVerify, callID: UInt32($0), payload: Payload.verify("AQ")) })
            let answers = try connection.answers()
            #expect(answers.count == 16 && answers.allSatisfy { $0.status == .unauthenticated })
            #expect(!connection.isOpen)
        }
    }

    @Test func pipelinedVerifiesAreAnsweredInOneWrite() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { _ in } test: { connection in
            let calls = [Frame.request(.authHello, callID: 0, payload: Payload.hello(fixture.verifierKey))]
                + (1...50).map { Frame.request(.linksVerify, callID: UInt32($0), payload: Payload.verify($0 % 2 == 0 ? fixture.link : "AQ")) }
            try connection.send(calls)
            let (writes, answers) = try connection.writesAndAnswers()
            #expect(writes == 1)
            #expect(answers.map(\.header.callID) == Array(0...50))
            for answer in answers.dropFirst() {
                let response = try PortalLinks_V1_VerifyResponse(serializedBytes: Array(answer.payload.readableBytesView))
                #expect(response.valid == (answer.header.callID % 2 == 0))
            }
        }
    }

    @Test func scopesAreCheckedBeforeAnyWork() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { _ in } test: { connection in
            try connection.send([.request(.authHello, callID: 1, payload: Payload.hello(fixture.verifierKey)),
                                 .request(.linksIssue, callID: 2, payload: Payload.issue("acme")),
                                 .request(MethodID(rawValue: 99), callID: 3, payload: ByteBuffer())])
            #expect(try connection.answers().map(\.status) == [.ok, .permissionDenied, .unimplemented])
            #expect(connection.isOpen)
        }
    }

    /// Answers the client does not take: the server stops reading, holds the rest, and answers it all once
    /// the client reads again.
    @Test func aClientThatDoesNotReadIsHeldNotDropped() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.partialFrameTimeout = .seconds(1) } test: { connection in
            try connection.send([.request(.authHello, callID: 0, payload: Payload.hello(fixture.verifierKey))])
            _ = try connection.answers()
            connection.channel.isWritable = false
            connection.channel.pipeline.fireChannelWritabilityChanged()
            let reads = connection.reads.count
            try connection.send((1...20).map { .request(.linksVerify, callID: UInt32($0), payload: Payload.verify(fixture.link)) })
            #expect(try connection.answers().isEmpty, "nothing is handled while the client does not read")
            connection.channel.read()
            #expect(connection.reads.count == reads, "and nothing more is read")
            connection.advance(.minutes(2))
            #expect(connection.isOpen, "no frame timeout: the wait is the server's, not the client's")
            connection.channel.isWritable = true
            connection.channel.pipeline.fireChannelWritabilityChanged()
            #expect(try connection.answers().map(\.header.callID) == Array(1...20))
            #expect(connection.reads.count == reads + 1, "reading resumes")
        }
    }

    @Test func aBacklogOfAnswersIsWrittenInBatches() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { $0.maximumPendingAnswerBytes = 1_024 } test: { connection in
            try connection.send([.request(.authHello, callID: 0, payload: Payload.hello(fixture.verifierKey))]
                + (1...200).map { .request(.linksVerify, callID: UInt32($0), payload: Payload.verify(fixture.link)) })
            connection.channel.embeddedEventLoop.run()
            let (writes, answers) = try connection.writesAndAnswers()
            #expect(answers.map(\.header.callID) == Array(0...200), "every call answered, in order")
            #expect(writes > 10, "\(writes) writes of at most about 1 KiB, not one of all the answers")
        }
    }

    @Test func drainingAnswersHealthAndClosesAnIdleConnection() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { _ in } test: { connection in
            try connection.send([.request(.authHello, callID: 1, payload: Payload.hello(fixture.verifierKey))])
            _ = try connection.answers()
            fixture.state.beginDraining()
            try connection.send([.request(.healthCheck, callID: 2, payload: ByteBuffer()),
                                 .request(.linksVerify, callID: 3, payload: Payload.verify(fixture.link))])
            let answers = try connection.answers()
            #expect(answers.map(\.status) == [.ok, .unavailable])
            let health = try PortalLinks_V1_HealthCheckResponse(serializedBytes: Array(answers[0].payload.readableBytesView))
            #expect(health.status == .notServing)
            connection.channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
            #expect(!connection.isOpen, "nothing in flight: closed at once")
        }
    }

    @Test func aBadFrameClosesAfterTheCallsBeforeIt() async throws {
        let fixture = try await EmbeddedFixture.make()
        try fixture.connection { _ in } test: { connection in
            var bytes = try Frame.encode((1...2).map { .request(.healthCheck, callID: UInt32($0), payload: ByteBuffer()) })
            bytes.writeBytes([0x02] + Array(repeating: 0, count: 15))
            try? connection.send(bytes)
            #expect(try connection.answers().map(\.header.callID) == [1, 2])
            #expect(!connection.isOpen)
        }
    }
}

/// An installation with a verify-only caller and a link, and a way to put a connection handler over it on an
/// `EmbeddedChannel`.
struct EmbeddedFixture {
    let state: ServingState
    let verifierKey: String
    let link: String

    static func make() async throws -> EmbeddedFixture {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-embedded-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:],
                                                       actor: "test")
        let verifierKey = try await installation.addCaller(named: "frontend", scopes: [.verify])
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"))).token
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return EmbeddedFixture(state: try await ServingState(installation: installation, logger: logger), verifierKey: verifierKey, link: link)
    }

    /// Runs `test` on a new connection. Synchronous: an `EmbeddedChannel` stays on the thread that made it.
    func connection(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                    test: (EmbeddedConnection) throws -> Void) throws {
        var configuration = ServerConfiguration()
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let handler = ConnectionHandler(
            state: state, issuer: IssueWorker(installation: state.installation, baseURL: nil, logger: logger),
            accounts: AccountCalls(state: state, installation: state.installation), helloThrottle: FailedHelloThrottle(),
            metrics: ServerMetrics(), configuration: configuration, logger: logger)
        let connection = try EmbeddedConnection(handler)
        try test(connection)
        _ = try? connection.channel.finish()
    }
}

final class EmbeddedConnection {
    let channel: EmbeddedChannel
    let reads = ReadCounter()

    init(_ handler: ConnectionHandler) throws {
        channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([reads, handler])
        channel.remoteAddress = try SocketAddress(ipAddress: "192.0.2.7", port: 40_000)
        try channel.connect(to: channel.remoteAddress!).wait()
    }

    var isOpen: Bool { channel.isActive }

    func advance(_ amount: TimeAmount) { channel.embeddedEventLoop.advanceTime(by: amount) }

    /// Sends the frames in one read.
    func send(_ frames: [Frame]) throws { try send(Frame.encode(frames)) }
    func send(bytes: [UInt8]) throws { try send(ByteBuffer(bytes: bytes)) }
    func send(_ buffer: ByteBuffer) throws {
        guard isOpen else { return }
        try channel.writeInbound(buffer)
    }

    /// The answers written since the last look.
    func answers() throws -> [Frame] { try writesAndAnswers().answers }

    func writesAndAnswers() throws -> (writes: Int, answers: [Frame]) {
        var writes = 0
        var stream = ByteBuffer()
        while var written = try channel.readOutbound(as: ByteBuffer.self) {
            writes += 1
            stream.writeBuffer(&written)
        }
        var answers: [Frame] = []
        while let frame = try FrameDecoder(side: .client).nextFrame(from: &stream) { answers.append(frame) }
        return (writes, answers)
    }

    /// Counts the reads the connection handler passes on, to see when backpressure stops reading.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }
}

extension Frame {
    var status: StatusCode? { StatusCode(rawValue: header.code) }

    static func encode(_ frames: [Frame]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { try FrameEncoder().encode(data: frame, out: &buffer) }
        return buffer
    }
}
