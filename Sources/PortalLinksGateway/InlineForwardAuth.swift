import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import PortalLinks

/// Answers forward-auth requests on the event loop, the way the binary door answers Verify from its read
/// buffer: a proxy's auth request needs no store and no task, only the snapshot in force, and going through
/// Hummingbird's per-request task costs several times the verification itself (docs/benchmarks.md).
///
/// Sits after Hummingbird's HTTP decoder (one of its `additionalChannelHandlers`) and passes everything else
/// on, and a forward-auth request too when only `ForwardAuth.answer` can decide it (a key not seen yet), when
/// the connection is closing (`Connection` header, draining), or while a request passed on is unanswered, so
/// that answers keep the order of their requests.
final class InlineForwardAuth: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let forwardAuth: ForwardAuth
    private var peer = "-"
    /// Requests passed on whose answers have not ended.
    private var passedOn = 0
    /// The request being read is answered here (its body, if any, is dropped).
    private var answering: ForwardAuth.Answer?
    private var quiescing = false
    private var needsFlush = false
    /// The `Date` header for the current second (the router's answers have one too).
    private var date = (second: Int64.min, text: "")

    init(_ forwardAuth: ForwardAuth) { self.forwardAuth = forwardAuth }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress ?? "-"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if passedOn == 0, !quiescing, request.headerFields[.connection] == nil, let endpoint = ForwardAuth.Endpoint(request),
               let answer = forwardAuth.answerNow(endpoint, request, peer: peer) {
                answering = answer
                return
            }
            passedOn += 1
        case .body:
            if answering != nil { return }
        case .end:
            if let answer = answering {
                answering = nil
                write(answer, context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { quiescing = true }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }  // never below: a parse error's 400 answers no request
        context.write(data, promise: promise)
    }

    private func write(_ answer: ForwardAuth.Answer, context: ChannelHandlerContext) {
        var fields = answer.headerFields
        fields[.contentLength] = String(answer.body.utf8.count)
        let second = Int64(Date().timeIntervalSince1970)
        if second != date.second { date = (second, TimeText.formatHTTP(second)) }
        fields[.date] = date.text
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        if !answer.body.isEmpty { context.write(wrapOutboundOut(.body(ByteBuffer(string: answer.body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
    }
}
