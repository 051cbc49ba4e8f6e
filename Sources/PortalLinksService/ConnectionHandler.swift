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
/// through `ServerMethod`'s table, writes answers, and runs timers and off-loop work as the machine says.
///
/// Everything here runs on the connection's event loop, and every time is the loop's (`eventLoop.now`), so
/// that a test on an `EmbeddedEventLoop` moves it by hand. Health, Hello, Links.Verify and Sessions.Verify are
/// answered inline (a verify is ~150 ns of work, less than a hop to another thread would cost); the other
/// methods and the reload for an unknown key go off the loop one way, `offLoop`, and count as in flight.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: ServingState
    private let issuer: IssueWorker
    private let accounts: AccountCalls
    /// Frames are cut here rather than in a ByteToMessageHandler in front, so that a pipelined batch is
    /// handled in one pass without a pipeline hop per call.
    private let decoder: FrameDecoder
    var machine: ConnectionStateMachine
    /// Bytes not handled yet: a frame that has not fully arrived, or calls held back.
    private var unhandled: ByteBuffer?
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private let metrics: ServerMetrics
    private var batch = MetricsBatch()
    /// When the call being handled inline was read, for the latency histogram.
    private var readAt: NIODeadline
    /// Unix seconds at that moment, the time links and sessions are checked against.
    private var wallClock: Int64 = 0
    /// The installation's clock (the system clock, or a test's).
    private let clock: @Sendable () -> Int64
    let configuration: ServerConfiguration
    var logger: Logger
    var snapshot: ServingSnapshot
    let helloThrottle: FailedHelloThrottle
    /// The client's IP address, for the failed-Hello throttle.
    var peerHost: String?
    private var backlogScheduled = false
    /// Answers gathered during one read and written together when it completes: one write and one flush
    /// per batch of pipelined calls instead of one per call.
    private var output: ByteBuffer?

    init(state: ServingState, issuer: IssueWorker, accounts: AccountCalls, helloThrottle: FailedHelloThrottle,
         metrics: ServerMetrics, configuration: ServerConfiguration, logger: Logger) {
        self.state = state
        self.helloThrottle = helloThrottle
        self.issuer = issuer
        self.accounts = accounts
        clock = state.installation.clock
        self.metrics = metrics
        decoder = FrameDecoder(side: .server, maximumPayload: configuration.maximumPayload)
        self.configuration = configuration
        self.logger = logger
        snapshot = state.snapshot
        // Replaced in handlerAdded, when the loop (and so its clock) is known.
        readAt = .now()
        machine = ConnectionStateMachine(limits: .init(configuration), openedAt: readAt)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        readAt = context.eventLoop.now
        machine = ConnectionStateMachine(limits: .init(configuration), openedAt: readAt)
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        if let peer = context.remoteAddress {
            logger[metadataKey: "connection.peer"] = "\(peer)"
            peerHost = peer.ipAddress
        }
        logger.debug("connection opened")
        machine.bytesArrived(at: context.eventLoop.now)
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
        machine.bytesArrived(at: readAt)
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
        if armTimer { scheduleFrameCheck(context, in: configuration.partialFrameTimeout) }
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
        if case .refuse(let status, let message) = admission {
            respond(context, header, status, message: message)
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
            if machine.drain() { close(context, reason: "draining") }
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

    // MARK: Methods

    private func health(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_HealthCheckRequest = decode(context, header, payload) else { return }
        guard request.service.isEmpty || request.service == "portal_links.v1" else {
            respond(context, header, .notFound, message: "unknown service")
            return
        }
        var response = PortalLinks_V1_HealthCheckResponse()
        response.status = machine.isDraining || state.isDraining ? .notServing : .serving
        respond(context, header, response)
    }

    private func verify(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        var unknownKey = false
        let understood = snapshot.verify(payload, at: wallClock) { verification in
            if verification.reason == .unknownKey {
                unknownKey = true
            } else {
                respondVerification(context, header, verification)
            }
        }
        if !understood {
            respond(context, header, .invalidArgument, message: "the payload is not a VerifyRequest")
        } else if unknownKey {
            // A key this server has not seen may have just been added: reload once (rate-limited), then answer.
            let payload = ByteBuffer(bytes: payload)
            afterReload(context) { handler, context in
                _ = VerifyCodec.verify(payload, with: handler.snapshot.verifier, at: handler.clock()) {
                    handler.respondVerification(context, header, $0)
                }
            }
        }
    }

    private func respondVerification(_ context: ChannelHandlerContext, _ header: FrameHeader, _ verification: BorrowedLinkVerification) {
        batch.recordVerify(verification.reason)
        batch.record(method: header.code, status: .ok)
        if output == nil { output = context.channel.allocator.buffer(capacity: Self.outputCapacity) }
        VerifyCodec.writeResponseFrame(callID: header.callID, verification, to: &output!)
        if !verification.isValid, let reason = verification.reason {
            logger.debug("link refused", metadata: ["link.reason": "\(reason.rawValue)",
                                                    "link.id": "\(verification.linkID?.description ?? "-")"])
        }
    }

    private func verifySession(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_SessionVerifyRequest = decode(context, header, payload) else { return }
        let response = AccountCalls.verifySession(request, with: snapshot.sessionVerifier, at: wallClock)
        guard response.reason == SessionVerifier.Refusal.unknownKey.rawValue else {
            respond(context, header, response)
            return
        }
        // Signed with a key made primary a moment ago: reload once (rate-limited), then answer.
        afterReload(context) { handler, context in
            handler.respond(context, header, AccountCalls.verifySession(request, with: handler.snapshot.sessionVerifier,
                                                                        at: handler.clock()))
        }
    }

    /// An off-loop method of the table: decoded here (a bad payload is INVALID_ARGUMENT at once), worked on off
    /// the loop. A call whose deadline passed before its work began gets DEADLINE_EXCEEDED and no work.
    private func callOffLoop(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer,
                             _ method: ServerMethod) {
        guard case .offLoop(let prepare) = method.execution else {
            preconditionFailure("\(method.name) is routed off the loop but is not an off-loop entry")
        }
        // Calls that wait take the time of receipt for their deadline.
        let deadline: NIODeadline? = header.deadlineMilliseconds == 0
            ? nil : readAt + .milliseconds(Int64(header.deadlineMilliseconds))
        let call = CallContext(accounts: accounts, issuer: issuer, caller: machine.caller?.caller.name ?? "-", deadline: deadline)
        let work: ServerMethod.OffLoopWork
        do {
            work = try prepare(payload, call)
        } catch {
            respond(context, header, .invalidArgument, message: "the payload is not a \(method.requestType.protoMessageName)")
            return
        }
        let logger = self.logger
        offLoop(context) { () -> Result<any SwiftProtobuf.Message, CallFailure> in
            if let deadline, deadline < .now() { return .failure(.deadlinePassed) }
            do { return .success(try await work()) } catch {
                let failure = CallFailure.from(error)
                // Storage details are for staff, in the log; the caller gets the generic message.
                if failure.status == .internal || failure.status == .unavailable {
                    logger.error("call failed", metadata: ["call.method": "\(method.name)", "error": "\(error)"])
                } else if failure.status == .unauthenticated || failure.status == .resourceExhausted {
                    // Failed sign-ins and the like, for spotting guessing (details in the activity log).
                    logger.info("call refused", metadata: ["call.method": "\(method.name)", "call.status": "\(failure.status)"])
                }
                return .failure(failure)
            }
        } answer: { handler, context, outcome in
            switch outcome {
            case .success(let response): handler.respond(context, header, response)
            case .failure(let failure): handler.respond(context, header, failure.status, message: failure.message, reason: failure.reason)
            }
        }
    }

    /// Reloads the snapshot (at most once per interval across the server), then runs `answer` with the new one.
    func afterReload(_ context: ChannelHandlerContext, _ answer: @escaping (ConnectionHandler, ChannelHandlerContext) -> Void) {
        let state = self.state
        offLoop(context) { await state.reloadForUnknownKey() } answer: { handler, context, _ in
            handler.refreshSnapshot()
            answer(handler, context)
        }
    }

    /// The one way work leaves the event loop: `work` runs in a task while the call counts as in flight, then
    /// `answer` runs back on the loop with its result, as of the read that brought the call, and the answers
    /// are written.
    private func offLoop<Outcome: Sendable>(_ context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Outcome,
                                            answer: @escaping (ConnectionHandler, ChannelHandlerContext, Outcome) -> Void) {
        machine.callStarted()
        let receivedAt = readAt
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context, answer), eventLoop: loop)
        Task {
            let outcome = await work()
            loop.execute {
                let (handler, context, answer) = bound.value
                handler.readAt = receivedAt
                answer(handler, context, outcome)
                handler.flushOutput(context)
                handler.finishCall(context)
            }
        }
    }

    // MARK: Helpers

    private func refreshSnapshot() {
        guard state.generation != snapshot.generation else { return }
        snapshot = state.snapshot
        // A caller revoked since its Hello loses its authentication with the next call.
        if let current = machine.caller, snapshot.caller(keyHash: current.keyHash) != current.caller {
            machine.callerRemoved()
        }
    }

    func decode<Message: SwiftProtobuf.Message>(_ context: ChannelHandlerContext, _ header: FrameHeader,
                                                _ payload: UnsafeRawBufferPointer) -> Message? {
        do {
            return try Message(serializedBytes: Array(payload))
        } catch {
            respond(context, header, .invalidArgument, message: "the payload is not a \(Message.protoMessageName)")
            return nil
        }
    }

    func respond(_ context: ChannelHandlerContext, _ header: FrameHeader, _ message: some SwiftProtobuf.Message) {
        let bytes: [UInt8] = (try? message.serializedBytes()) ?? []
        appendOutput(context, header, status: .ok) { $0.writeBytes(bytes) }
    }

    func respond(_ context: ChannelHandlerContext, _ header: FrameHeader, _ status: StatusCode, message: String,
                 reason: String? = nil) {
        var error = PortalLinks_V1_Error()
        error.message = message
        error.reason = reason ?? ""
        let bytes: [UInt8] = (try? error.serializedBytes()) ?? []
        appendOutput(context, header, status: status) { $0.writeBytes(bytes) }
    }

    /// Room for a batch of pipelined answers before the buffer has to grow.
    private static let outputCapacity = 4_096

    private func appendOutput(_ context: ChannelHandlerContext, _ header: FrameHeader, status: StatusCode,
                              payload: (inout ByteBuffer) -> Void) {
        if output == nil { output = context.channel.allocator.buffer(capacity: Self.outputCapacity) }
        output!.writeResponseFrame(status: status, callID: header.callID, writePayload: payload)
        batch.record(method: header.code, status: status)
    }

    /// Writes the answers gathered so far. Their latency, from the read that brought them to this write, is
    /// taken here: one clock reading for the batch.
    private func flushOutput(_ context: ChannelHandlerContext) {
        if batch.hasPending {
            let now = context.eventLoop.now
            machine.answersWritten(at: now)
            batch.flush(into: metrics, latency: now - readAt)
        }
        if let pending = output, pending.readableBytes > 0 {
            output = nil
            context.write(wrapOutboundOut(pending), promise: nil)
        }
        context.flush()
    }

    private func finishCall(_ context: ChannelHandlerContext) {
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
        if armFrameTimer { scheduleFrameCheck(context, in: configuration.partialFrameTimeout) }
        context.read()
    }

    func close(_ context: ChannelHandlerContext, reason: String) {
        guard machine.close() else { return }
        frameTimer?.cancel()
        logger.debug("closing connection", metadata: ["connection.reason": "\(reason)"])
        flushOutput(context)
        context.close(promise: nil)
    }
}

/// Sent to every connection when shutdown begins.
struct DrainEvent: Sendable {}
