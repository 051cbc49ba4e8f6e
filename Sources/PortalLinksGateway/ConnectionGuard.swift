import HTTPTypes
import NIOCore
import NIOHTTPTypes
import PortalLinksService
import Synchronization

/// The open connections of one HTTP listener, shared by its connections.
final class ConnectionCount: Sendable {
    private let open = Mutex(OpenConnections())

    var count: Int { open.withLock { $0.count } }

    func admit(_ channel: any Channel, peer: String, limits: HTTPLimits) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = open.withLock { open in
            open.count < limits.maximumConnections && open.insert(channel, id: id, peer: peer, limit: limits.maximumConnectionsPerAddress)
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.open.withLock { $0.remove(id, peer: peer) } } }
        return admitted
    }
}

/// First in an HTTP connection's pipeline (before TLS): admits the connection or closes it at once, notices
/// the bytes that start a request, and keeps the one timer that bounds the connection: the idle timeout
/// between requests, the header timeout from a request's first byte to the end of its headers, the request
/// timeout from there to the end of its body, none while requests are being answered. `RequestBoundaries`,
/// after the HTTP decoder, tells it where requests begin and end.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limits: HTTPLimits
    private let connections: ConnectionCount
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    /// When the connection closes unless something moves it (nil while requests are being answered).
    private var deadline: NIODeadline?
    /// When the scheduled check runs.
    private var checkAt: NIODeadline?
    /// A request's head has arrived and its end not yet.
    private var receiving = false
    /// Requests read whole and not yet answered.
    private var unanswered = 0
    /// Bytes of a request arrived whose head is not complete.
    private var headStarted = false

    init(limits: HTTPLimits, connections: ConnectionCount) {
        self.limits = limits
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard connections.admit(context.channel, peer: context.channel.remoteAddress?.ipAddress ?? "-", limits: limits) else {
            context.close(promise: nil)
            return
        }
        arm(limits.headerTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !receiving, unanswered == 0, !headStarted {
            headStarted = true
            arm(limits.headerTimeout)
        }
        context.fireChannelRead(data)
    }

    func headReceived() {
        headStarted = false
        receiving = true
        arm(limits.requestTimeout)
    }

    func requestEnded() {
        receiving = false
        unanswered += 1
        disarm()
    }

    func answerEnded() {
        unanswered = max(0, unanswered - 1)
        if !receiving, unanswered == 0 { arm(limits.idleTimeout) }
    }

    /// Sets when the connection closes unless something moves it. One scheduled check serves every
    /// deadline: a check due before the new deadline finds it and moves itself, so a request costs no
    /// scheduling (per-request timers cost a tenth of a forward-auth answer, docs/benchmarks.md).
    private func arm(_ delay: TimeAmount) {
        guard let context else { return }
        let deadline = context.eventLoop.now + delay
        self.deadline = deadline
        if let checkAt, checkAt <= deadline { return }
        scheduleCheck(at: deadline, context: context)
    }

    /// No deadline while requests are being answered; the pending check finds none and ends.
    private func disarm() { deadline = nil }

    private func scheduleCheck(at when: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        checkAt = when
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: when) { bound.value.check() }
    }

    private func check() {
        timer = nil
        checkAt = nil
        guard let deadline, let context else { return }
        if deadline <= context.eventLoop.now { context.close(promise: nil) } else { scheduleCheck(at: deadline, context: context) }
    }
}

/// After the HTTP decoder: reports request heads, request ends and answer ends to the connection's
/// `ConnectionGuard`, and holds back body bytes past the limit (the handler has seen enough to refuse the
/// request; the connection closes after the answer).
final class RequestBoundaries: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let maximumBodyBytes: Int
    private var connectionGuard: ConnectionGuard?
    private var bodyBytes = 0
    private var closeAfterAnswer = false

    init(maximumBodyBytes: Int) { self.maximumBodyBytes = maximumBodyBytes }

    func handlerAdded(context: ChannelHandlerContext) {
        connectionGuard = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            bodyBytes = 0
            connectionGuard?.headReceived()
        case .body(let chunk):
            // The chunk that passes the limit still goes up, so that the handler counting the body sees it.
            guard bodyBytes <= maximumBodyBytes else { return }
            bodyBytes += chunk.readableBytes
            if bodyBytes > maximumBodyBytes { closeAfterAnswer = true }
        case .end:
            connectionGuard?.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        connectionGuard?.answerEnded()
        guard closeAfterAnswer else {
            context.write(data, promise: promise)
            return
        }
        let written = promise ?? context.eventLoop.makePromise()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        context.write(data, promise: written)
    }
}
