import Foundation
import Logging
import NIOCore
import PortalLinks
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// One client connection: authentication, dispatch by method id, backpressure and draining.
///
/// Everything here runs on the connection's event loop. Health, Hello, Links.Verify and Sessions.Verify are
/// answered inline (a verify is ~150 ns of work, less than a hop to another thread would cost); Issue, the
/// account methods (password hashes, store writes) and the reload for an unknown key go off the loop and
/// count as in flight until answered.
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
    /// Bytes of a frame that has not fully arrived yet.
    private var unfinished: ByteBuffer?
    private var unfinishedTimer: Scheduled<Void>?
    /// When the frame now unfinished started to arrive; nil while no frame is unfinished.
    private var unfinishedSince: NIODeadline?
    private let metrics: ServerMetrics
    private var batch = MetricsBatch()
    /// When the call being handled inline was read, for the latency histogram.
    private var readAt = NIODeadline.now()
    /// Unix seconds at that moment, the time links and sessions are checked against.
    private var wallClock: Int64 = 0
    /// The installation's clock (the system clock, or a test's).
    private let clock: @Sendable () -> Int64
    let configuration: ServerConfiguration
    var logger: Logger

    var snapshot: ServingSnapshot
    var caller: (keyHash: [UInt8], caller: ServingSnapshot.Caller)?
    /// The caller's scopes for the hot methods, looked up once per Hello rather than once per call.
    var mayVerify = false
    var mayIssue = false
    var mayManageAccounts = false
    /// The last read or answer; the idle timer closes the connection when it is older than the idle timeout.
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    var failedHellos = 0
    let helloThrottle: FailedHelloThrottle
    /// The client's IP address, for the failed-Hello throttle.
    var peerHost: String?
    /// Whether a Hello with an unknown key has already made this connection reload the snapshot.
    var reloadedForHello = false
    /// Too many failed Hellos: no more calls are read; the connection closes once those in flight are answered.
    var refusing = false
    var inFlight = 0
    private var readSuppressed = false
    /// Calls other than Health made before a successful Hello; at `maximumCallsBeforeHello` the connection closes.
    private var callsWithoutHello = 0
    /// Whole calls held back because `maximumPendingAnswerBytes` of answers wait to be written: reading stops
    /// until the client takes its answers.
    private var answersBacklogged = false
    private var backlogScheduled = false
    private var draining = false
    private var closing = false
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
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        if let peer = context.remoteAddress {
            logger[metadataKey: "connection.peer"] = "\(peer)"
            peerHost = peer.ipAddress
        }
        logger.debug("connection opened")
        lastActivity = .now()
        scheduleIdleCheck(context, in: idleLimit)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        unfinishedTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        // One clock reading per read: every call in it was received at this moment.
        readAt = .now()
        lastActivity = readAt
        wallClock = clock()
        if var earlier = unfinished {
            earlier.writeBuffer(&bytes)
            unfinished = earlier
        } else {
            unfinished = bytes
        }
        processReceived(context, receivedAt: readAt)
    }

    /// Handles the whole frames received so far, stopping while `maximumInFlight` calls are waiting (the rest
    /// stays buffered and reading stops until calls finish), and keeps only the bytes not yet handled.
    private func processReceived(_ context: ChannelHandlerContext, receivedAt: NIODeadline) {
        guard var bytes = unfinished else { return }
        unfinished = nil
        // Frames are handled where they lie in the read buffer: a pipelined batch of Verify calls costs no
        // buffer slice, no copy and no protobuf object per call.
        let before = bytes.readerIndex
        // Nothing is written while frames are handled, so the channel's writability holds for the whole pass.
        let writable = context.channel.isWritable
        let answerLimit = configuration.maximumPendingAnswerBytes
        do {
            try decoder.consumeFrames(from: &bytes, while: {
                writable && !closing && !refusing && inFlight < configuration.maximumInFlight
                    && (output?.readableBytes ?? 0) < answerLimit
            }) {
                handle(context, $0, payload: $1)
            }
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        answersBacklogged = bytes.readableBytes > 0 && !closing && (!writable || (output?.readableBytes ?? 0) >= answerLimit)
        let progressed = bytes.readerIndex > before
        guard bytes.readableBytes > 0, !closing else {
            unfinishedSince = nil
            return
        }
        // Keep just the unhandled bytes (at most one frame while calls flow), not the bytes already handled.
        bytes.discardReadBytes()
        unfinished = bytes
        if inFlight >= configuration.maximumInFlight || !context.channel.isWritable {
            // Waiting for capacity, or for the client to read its answers, not for the client to send: no
            // frame timeout meanwhile (resumeReadingIfPossible starts it again).
            unfinishedSince = nil
        } else if progressed || unfinishedSince == nil {
            unfinishedSince = receivedAt  // the unfinished frame's clock starts with the read that began it
        }
        if unfinishedSince != nil, unfinishedTimer == nil { scheduleFrameCheck(context, in: configuration.partialFrameTimeout) }
    }

    /// One timer per connection at most, checking the unfinished frame's age when it fires rather than being
    /// rescheduled on every read.
    private func scheduleFrameCheck(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        unfinishedTimer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.unfinishedTimer = nil
            guard let since = handler.unfinishedSince else { return }
            guard !handler.readSuppressed else {
                handler.unfinishedSince = nil  // the server stopped reading: the frame cannot finish meanwhile
                return
            }
            let remaining = handler.configuration.partialFrameTimeout - (NIODeadline.now() - since)
            if remaining <= .zero {
                handler.close(context, reason: "a frame stayed unfinished too long")
            } else {
                handler.scheduleFrameCheck(context, in: remaining)
            }
        }
    }

    /// How long the connection may be silent: the frame timeout until a Hello succeeds (so that connections
    /// that never authenticate cannot hold their slots for long), then the idle timeout.
    private var idleLimit: TimeAmount {
        caller == nil ? min(configuration.idleTimeout, configuration.partialFrameTimeout) : configuration.idleTimeout
    }

    /// Closes the connection once nothing has been read or answered for `idleLimit`, checking when the timer
    /// fires rather than rescheduling it on every read.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.idleTimer = nil
            guard !handler.closing else { return }
            let timeout = handler.idleLimit
            let remaining = timeout - (NIODeadline.now() - handler.lastActivity)
            if remaining > .zero {
                handler.scheduleIdleCheck(context, in: remaining)
            } else if handler.inFlight > 0 {
                handler.scheduleIdleCheck(context, in: timeout)  // still working for it
            } else {
                handler.close(context, reason: handler.caller == nil ? "idle without a Hello" : "idle")
            }
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ header: FrameHeader, payload: UnsafeRawBufferPointer) {
        let method = MethodID(rawValue: header.code)
        if draining || state.isDraining, method != .healthCheck {
            respond(context, header, .unavailable, message: "the server is shutting down")
            return
        }
        refreshSnapshot()
        // Health needs no Hello (a balancer's probe); any other call before a successful Hello counts, and the
        // last one the limit allows is answered, then the connection closes.
        if caller == nil, method != .healthCheck { callsWithoutHello += 1 }
        defer {
            if caller == nil, callsWithoutHello >= configuration.maximumCallsBeforeHello {
                close(context, reason: "too many calls without a Hello")
            }
        }
        guard let route = ServerMethod.route(id: header.code) else {
            respond(context, header, .unimplemented, message: "unknown method \(header.code)")
            return
        }
        if let scope = route.scope {
            guard authorise(context, header, scope: scope) else { return }
        }
        switch route.inline {
        case .verify: verify(context, header, payload)
        case .health: health(context, header, payload)
        case .hello: hello(context, header, payload)
        case .verifySession: verifySession(context, header, payload)
        case nil:
            let served = ServerMethod.all[route.index]
            guard case .offLoop(let prepare) = served.execution else {
                preconditionFailure("\(served.name) is routed off the loop but is not an off-loop entry")
            }
            // Calls that wait take the time of receipt for their deadline.
            let deadline: NIODeadline? = header.deadlineMilliseconds == 0
                ? nil : readAt + .milliseconds(Int64(header.deadlineMilliseconds))
            let call = CallContext(accounts: accounts, issuer: issuer, caller: caller?.caller.name ?? "-", deadline: deadline)
            let work: ServerMethod.OffLoopWork
            do {
                work = try prepare(payload, call)
            } catch {
                respond(context, header, .invalidArgument, message: "the payload is not a \(served.requestType.protoMessageName)")
                return
            }
            offLoop(context, header, deadline: deadline, work)
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
        guard answersBacklogged, !closing, context.channel.isWritable else { return }
        processReceived(context, receivedAt: .now())
        flushOutput(context)
        guard answersBacklogged, !closing, !backlogScheduled else { return }
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
            draining = true
            if inFlight == 0 { close(context, reason: "draining") }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Bad framing (version, flags, size) and transport errors end the connection; other connections go on.
        logger.info("closing connection", metadata: ["error": "\(error)"])
        closing = true
        unfinishedTimer?.cancel()
        flushOutput(context)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Backpressure: while too many calls are in flight, or the client does not read its answers, stop reading.
        if inFlight >= configuration.maximumInFlight || !context.channel.isWritable || refusing || answersBacklogged {
            readSuppressed = true
        } else {
            context.read()
        }
    }

    // MARK: Methods

    private func health(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_HealthCheckRequest = decode(context, header, payload) else { return }
        guard request.service.isEmpty || request.service == "portal_links.v1" else {
            respond(context, header, .notFound, message: "unknown service")
            return
        }
        var response = PortalLinks_V1_HealthCheckResponse()
        response.status = draining || state.isDraining ? .notServing : .serving
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
            verifyAfterReload(context, header, ByteBuffer(bytes: payload))
        }
    }

    /// A key this server has not seen may have just been added: reload once (rate-limited), then answer.
    private func verifyAfterReload(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: ByteBuffer) {
        afterReload(context) { handler, context in
            let now = handler.clock()
            _ = VerifyCodec.verify(payload, with: handler.snapshot.verifier, at: now) {
                handler.respondVerification(context, header, $0)
            }
        }
    }

    /// Reloads the snapshot off the event loop (at most once per interval across the server), then runs
    /// `answer` back on the loop with the new snapshot; the call counts as in flight meanwhile.
    func afterReload(_ context: ChannelHandlerContext,
                             _ answer: @escaping (ConnectionHandler, ChannelHandlerContext) -> Void) {
        startCall()
        let state = self.state
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context, answer), eventLoop: loop)
        let receivedAt = readAt
        Task {
            await state.reloadForUnknownKey()
            loop.execute {
                let (handler, context, answer) = bound.value
                handler.readAt = receivedAt
                handler.refreshSnapshot()
                answer(handler, context)
                handler.flushOutput(context)
                handler.finishCall(context)
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
            let now = handler.clock()
            handler.respond(context, header, AccountCalls.verifySession(request, with: handler.snapshot.sessionVerifier, at: now))
        }
    }

    /// Runs `work` in a task, counting the call as in flight, and answers on the loop. A call whose deadline
    /// passed before the task began gets DEADLINE_EXCEEDED and no work.
    private func offLoop(_ context: ChannelHandlerContext, _ header: FrameHeader, deadline: NIODeadline?,
                         _ work: @escaping ServerMethod.OffLoopWork) {
        let receivedAt = readAt
        startCall()
        let loop = context.eventLoop
        let box = NIOLoopBound((self, context), eventLoop: loop)
        let logger = self.logger
        Task {
            let outcome: Result<any SwiftProtobuf.Message, CallFailure>
            if let deadline, deadline < .now() {
                outcome = .failure(.deadlinePassed)
            } else {
                do { outcome = .success(try await work()) } catch {
                    let failure = CallFailure.from(error)
                    // Storage details are for staff, in the log; the caller gets the generic message.
                    if failure.status == .internal || failure.status == .unavailable {
                        logger.error("call failed", metadata: ["call.method": "\(MethodID(rawValue: header.code))",
                                                               "error": "\(error)"])
                    } else if failure.status == .unauthenticated || failure.status == .resourceExhausted {
                        // Failed sign-ins and the like, for spotting guessing (details in the activity log).
                        logger.info("call refused", metadata: ["call.method": "\(MethodID(rawValue: header.code))",
                                                                "call.status": "\(failure.status)"])
                    }
                    outcome = .failure(failure)
                }
            }
            loop.execute {
                let (handler, context) = box.value
                handler.readAt = receivedAt
                switch outcome {
                case .success(let response): handler.respond(context, header, response)
                case .failure(let failure):
                    handler.respond(context, header, failure.status, message: failure.message, reason: failure.reason)
                }
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
        if let current = caller, snapshot.caller(keyHash: current.keyHash) != current.caller {
            setCaller(nil)
        }
    }

    /// Whether the caller that said Hello has `scope` (looked up at Hello, so no set lookup per call).
    private func authorise(_ context: ChannelHandlerContext, _ header: FrameHeader, scope: CallerScope) -> Bool {
        let allowed = switch scope {
        case .verify: mayVerify
        case .issue: mayIssue
        case .accounts: mayManageAccounts
        }
        if allowed { return true }
        if let caller {
            respond(context, header, .permissionDenied, message: "caller \(caller.caller.name) lacks the \(scope.rawValue) scope")
        } else {
            respond(context, header, .unauthenticated, message: "call Auth.Hello with an API key first")
        }
        return false
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
            let now = NIODeadline.now()
            lastActivity = now
            batch.flush(into: metrics, latency: now - readAt)
        }
        if let pending = output, pending.readableBytes > 0 {
            output = nil
            context.write(wrapOutboundOut(pending), promise: nil)
        }
        context.flush()
    }

    private func startCall() { inFlight += 1 }

    private func finishCall(_ context: ChannelHandlerContext) {
        inFlight -= 1
        if draining || refusing, inFlight == 0 {
            close(context, reason: draining ? "draining" : "too many failed hellos")
            return
        }
        if unfinished != nil, inFlight < configuration.maximumInFlight {
            // Calls held back by the in-flight limit can go now.
            processReceived(context, receivedAt: .now())
            flushOutput(context)
        }
        resumeReadingIfPossible(context)
    }

    private func resumeReadingIfPossible(_ context: ChannelHandlerContext) {
        handleBacklog(context)
        guard readSuppressed, inFlight < configuration.maximumInFlight, context.channel.isWritable, !answersBacklogged else { return }
        readSuppressed = false
        if unfinished != nil, unfinishedSince == nil {
            // Reading again: a frame left unfinished has the frame timeout from now to complete.
            unfinishedSince = .now()
            if unfinishedTimer == nil { scheduleFrameCheck(context, in: configuration.partialFrameTimeout) }
        }
        context.read()
    }

    func close(_ context: ChannelHandlerContext, reason: String) {
        guard !closing else { return }
        closing = true
        unfinishedTimer?.cancel()
        logger.debug("closing connection", metadata: ["connection.reason": "\(reason)"])
        flushOutput(context)
        context.close(promise: nil)
    }
}

/// Sent to every connection when shutdown begins.
struct DrainEvent: Sendable {}

