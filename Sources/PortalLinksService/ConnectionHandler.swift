import Foundation
import Logging
import NIOCore
import PortalLinks
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// One client connection: the adapter between NIO and `ConnectionStateMachine`, which decides on
/// authentication, limits, backpressure, deadlines and draining. This class cuts frames, dispatches them
/// through `ServerMethod`'s table, and runs timers as the machine says; the methods it answers itself and the
/// way off the loop are in ConnectionHandler+Methods, Hello in +Hello, the writing of answers in +Answers.
///
/// Everything here runs on the connection's event loop, and every time is the loop's (`eventLoop.now`), so
/// that a test on an `EmbeddedEventLoop` moves it by hand. Health, Hello, Links.Verify and Sessions.Verify are
/// answered inline (a verify is ~150 ns of work, less than a hop to another thread would cost); the other
/// methods and the reload for an unknown key go off the loop one way, `offLoop`, and count as in flight.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let state: ServingState
    let issuer: IssueWorker
    let accounts: AccountCalls
    /// Frames are cut here rather than in a ByteToMessageHandler in front, so that a pipelined batch is
    /// handled in one pass without a pipeline hop per call.
    private let decoder: FrameDecoder
    var machine: ConnectionStateMachine
    /// Bytes not handled yet: a frame that has not fully arrived, or calls held back.
    private var unhandled: ByteBuffer?
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    let metrics: ServerMetrics
    var batch = MetricsBatch()
    /// When the call being handled inline was read, for the latency histogram.
    var readAt: NIODeadline
    /// Unix seconds at that moment, the time links and sessions are checked against.
    var wallClock: Int64 = 0
    /// The installation's clock (the system clock, or a test's).
    let clock: @Sendable () -> Int64
    var logger: Logger
    var snapshot: ServingSnapshot
    /// Who said Hello, for the logs and the check that it has not been revoked since (its scopes are the
    /// machine's).
    var caller: (keyHash: [UInt8], caller: ServingSnapshot.Caller)?
    let helloThrottle: FailedHelloThrottle
    /// The client's IP address, for the failed-Hello throttle.
    var peerHost: String?
    private var backlogScheduled = false
    /// Answers gathered during one read and written together when it completes: one write and one flush
    /// per batch of pipelined calls instead of one per call.
    var output: ByteBuffer?

    init(state: ServingState, issuer: IssueWorker, accounts: AccountCalls, helloThrottle: FailedHelloThrottle,
         metrics: ServerMetrics, configuration: ServerConfiguration, logger: Logger) {
        self.state = state
        self.helloThrottle = helloThrottle
        self.issuer = issuer
        self.accounts = accounts
        clock = state.installation.clock
        self.metrics = metrics
        decoder = FrameDecoder(side: .server, maximumPayload: configuration.maximumPayload)
        self.logger = logger
        snapshot = state.snapshot
        // Both set again from the loop's clock when the connection becomes active.
        readAt = .now()
        machine = ConnectionStateMachine(limits: .init(configuration), openedAt: readAt)
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        if let peer = context.remoteAddress {
            logger[metadataKey: "connection.peer"] = "\(peer)"
            peerHost = peer.ipAddress
        }
        logger.debug("connection opened")
        readAt = context.eventLoop.now
        machine.activity(at: readAt)
        scheduleIdleCheck(context, in: machine.idleLimit)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        frameTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        // One clock reading per read: every call in it was received at this moment.
        readAt = context.eventLoop.now
        machine.activity(at: readAt)
        wallClock = clock()
        if var earlier = unhandled {
            earlier.writeBuffer(&bytes)
            unhandled = earlier
        } else {
            unhandled = bytes
        }
        processReceived(context, receivedAt: readAt)
    }

    /// Handles the whole frames received so far, for as long as the machine allows (the rest stays buffered
    /// and reading stops until capacity returns), and keeps only the bytes not yet handled.
    private func processReceived(_ context: ChannelHandlerContext, receivedAt: NIODeadline) {
        guard var bytes = unhandled else { return }
        unhandled = nil
        // Frames are handled where they lie in the read buffer: a pipelined batch of Verify calls costs no
        // buffer slice, no copy and no protobuf object per call.
        let before = bytes.readerIndex
        // Nothing is written while frames are handled, so the channel's writability holds for the whole pass.
        let writable = context.channel.isWritable
        do {
            try decoder.consumeFrames(from: &bytes, while: {
                machine.mayHandleCall(writable: writable, pendingAnswerBytes: output?.readableBytes ?? 0)
            }) {
                handle(context, $0, payload: $1)
            }
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        let left = bytes.readableBytes > 0
        let armTimer = machine.passEnded(unhandled: left, progressed: bytes.readerIndex > before, writable: writable,
                                         pendingAnswerBytes: output?.readableBytes ?? 0, receivedAt: receivedAt)
        guard left, !machine.isClosed else { return }
        // Keep just the unhandled bytes (at most one frame while calls flow), not the bytes already handled.
        bytes.discardReadBytes()
        unhandled = bytes
        if armTimer { scheduleFrameCheck(context, in: machine.limits.partialFrameTimeout) }
    }

    /// One timer per connection at most, checking the unfinished frame's age when it fires rather than being
    /// rescheduled on every read.
    private func scheduleFrameCheck(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        frameTimer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.frameTimer = nil
            handler.perform(handler.machine.frameTimerFired(at: context.eventLoop.now), context) {
                $0.scheduleFrameCheck($1, in: $2)
            }
        }
    }

    /// Closes the connection once nothing has been read or answered for the machine's idle limit, checking
    /// when the timer fires rather than rescheduling it on every read.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.idleTimer = nil
            handler.perform(handler.machine.idleTimerFired(at: context.eventLoop.now), context) {
                $0.scheduleIdleCheck($1, in: $2)
            }
        }
    }

    private func perform(_ action: ConnectionStateMachine.TimerAction, _ context: ChannelHandlerContext,
                         reschedule: (ConnectionHandler, ChannelHandlerContext, TimeAmount) -> Void) {
        switch action {
        case .none: break
        case .reschedule(let delay): reschedule(self, context, delay)
        case .close(let reason): close(context, reason: reason)
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ header: FrameHeader, payload: UnsafeRawBufferPointer) {
        refreshSnapshot()
        let route = ServerMethod.route(id: header.code)
        let admission = machine.admit(isHealth: header.code == MethodID.healthCheck.rawValue, scope: route?.scope,
                                      serverDraining: state.isDraining)
        defer {
            if let reason = machine.callHandled() { close(context, reason: reason) }
        }
        switch admission {
        case .proceed: break
        case .shuttingDown:
            respond(context, header, .unavailable, message: "the server is shutting down")
            return
        case .helloFirst:
            respond(context, header, .unauthenticated, message: "call Auth.Hello with an API key first")
            return
        case .lacks(let scope):
            respond(context, header, .permissionDenied, message: "caller \(caller?.caller.name ?? "-") lacks the \(scope.rawValue) scope")
            return
        }
        guard let route else {
            respond(context, header, .unimplemented, message: "unknown method \(header.code)")
            return
        }
        switch route.inline {
        case .verify: verify(context, header, payload)
        case .health: health(context, header, payload)
        case .hello: hello(context, header, payload)
        case .verifySession: verifySession(context, header, payload)
        case nil: callOffLoop(context, header, payload, ServerMethod.all[route.index])
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushOutput(context)
        handleBacklog(context)
        context.fireChannelReadComplete()
    }

    /// Calls held back while `maximumPendingAnswerBytes` of answers waited: handled batch by batch, each
    /// written before the next, for as long as the client takes them; between two batches the event loop's
    /// other connections get their turn.
    private func handleBacklog(_ context: ChannelHandlerContext) {
        guard machine.answersBacklogged, !machine.isClosed, context.channel.isWritable else { return }
        processReceived(context, receivedAt: context.eventLoop.now)
        flushOutput(context)
        guard machine.answersBacklogged, !machine.isClosed, !backlogScheduled else { return }
        backlogScheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.backlogScheduled = false
            handler.resumeReadingIfPossible(context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is DrainEvent:
            if machine.drain() { close(context, reason: .draining) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Bad framing (version, flags, size) and transport errors end the connection; other connections go on.
        logger.info("closing connection", metadata: ["error": "\(error)"])
        guard machine.close() else { return }
        frameTimer?.cancel()
        flushOutput(context)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Backpressure: the machine says when to stop reading.
        if machine.readRequested(writable: context.channel.isWritable) { context.read() }
    }

    // MARK: Snapshot, capacity, closing

    func refreshSnapshot() {
        guard state.generation != snapshot.generation else { return }
        snapshot = state.snapshot
        // A caller revoked since its Hello loses its authentication with the next call.
        if let current = caller, snapshot.caller(keyHash: current.keyHash) != current.caller {
            caller = nil
            machine.callerRemoved()
        }
    }

    func finishCall(_ context: ChannelHandlerContext) {
        switch machine.callFinished(unhandled: unhandled != nil) {
        case .close(let reason):
            close(context, reason: reason)
            return
        case .handleHeldCalls:
            processReceived(context, receivedAt: context.eventLoop.now)
            flushOutput(context)
        case .none:
            break
        }
        resumeReadingIfPossible(context)
    }

    private func resumeReadingIfPossible(_ context: ChannelHandlerContext) {
        handleBacklog(context)
        let resume = machine.resumeReading(writable: context.channel.isWritable, unhandled: unhandled != nil,
                                           at: context.eventLoop.now)
        guard case .read(let armFrameTimer) = resume else { return }
        if armFrameTimer { scheduleFrameCheck(context, in: machine.limits.partialFrameTimeout) }
        context.read()
    }

    func close(_ context: ChannelHandlerContext, reason: ConnectionStateMachine.CloseReason) {
        guard machine.close() else { return }
        frameTimer?.cancel()
        logger.debug("closing connection", metadata: ["connection.reason": "\(reason.rawValue)"])
        flushOutput(context)
        context.close(promise: nil)
    }
}

/// Sent to every connection when shutdown begins.
struct DrainEvent: Sendable {}
