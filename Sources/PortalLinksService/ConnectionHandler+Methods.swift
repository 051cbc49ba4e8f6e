import NIOCore
import PortalLinks
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// The methods a connection answers itself, inline (Health, Links.Verify, Sessions.Verify; Hello is in
/// ConnectionHandler+Hello), and the one path by which the others leave the event loop and come back.
extension ConnectionHandler {
    func health(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let request: PortalLinks_V1_HealthCheckRequest = decode(context, header, payload) else { return }
        switch MessageCalls.health(request, serving: !(machine.isDraining || state.isDraining)) {
        case .success(let response): respond(context, header, response)
        case .failure(let failure): respond(context, header, failure.status, message: failure.message)
        }
    }

    func verify(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
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

    func respondVerification(_ context: ChannelHandlerContext, _ header: FrameHeader, _ verification: BorrowedLinkVerification) {
        batch.recordVerify(verification.reason)
        batch.record(method: header.code, status: .ok)
        if output == nil { output = context.channel.allocator.buffer(capacity: Self.outputCapacity) }
        VerifyCodec.writeResponseFrame(callID: header.callID, verification, to: &output!)
        if !verification.isValid, let reason = verification.reason {
            logger.debug("link refused", metadata: ["link.reason": "\(reason.rawValue)",
                                                    "link.id": "\(verification.linkID?.description ?? "-")"])
        }
    }

    func verifySession(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
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
    func callOffLoop(_ context: ChannelHandlerContext, _ header: FrameHeader, _ payload: UnsafeRawBufferPointer,
                     _ method: ServerMethod) {
        guard case .offLoop(let work) = method.execution else {
            preconditionFailure("\(method.name) is routed off the loop but is not an off-loop entry")
        }
        // Calls that wait take the time of receipt for their deadline.
        let deadline: NIODeadline? = header.deadlineMilliseconds == 0
            ? nil : readAt + .milliseconds(Int64(header.deadlineMilliseconds))
        let call = CallContext(accounts: accounts, issuer: issuer, caller: caller?.caller.name ?? "-", deadline: deadline)
        let request: any SwiftProtobuf.Message
        do {
            request = try method.requestType.init(serializedBytes: Array(payload))
        } catch {
            respond(context, header, .invalidArgument, message: "the payload is not a \(method.requestType.protoMessageName)")
            return
        }
        let logger = self.logger
        offLoop(context) {
            await method.perform(work, request, call, logger: logger)
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
    func offLoop<Outcome: Sendable>(_ context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Outcome,
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
}
