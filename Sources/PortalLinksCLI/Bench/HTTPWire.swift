import NIOCore
import NIOHTTP1
import PortalLinksCore
import PortalLinksMessages
import PortalLinksService
import PortalLinksWire

/// HTTP/1.1 to the gateway, through SwiftNIO's HTTP client codec: Connect JSON calls, or forward-auth requests
/// as a reverse proxy sends them. Answers come back in the order of the requests (pipelined with -P), so the
/// n-th answer is call n's.
struct HTTPWire: LoadWire {
    typealias InboundIn = HTTPClientResponsePart
    /// HTTP statuses.
    static let statusSlots = 600

    /// The plan's requests, built once before timing starts.
    struct Requests: Sendable {
        fileprivate let heads: [HTTPRequestHead]
        fileprivate let bodies: [ByteBuffer?]
        /// Connect: the answer is a JSON message; forward auth: a status and `X-Portal-Reason`.
        fileprivate let connect: Bool
        fileprivate let sessions: Bool

        init(plan: LoadPlan) {
            let host = plan.host.contains(":") ? "[\(plan.host)]:\(plan.port)" : "\(plan.host):\(plan.port)"
            sessions = plan.method == .sessionsVerify
            switch plan.door {
            case .forwardAuth(let path):
                connect = false
                heads = plan.tokens.map { token in
                    // The proxy's key in X-Portal-Api-Key; the link in X-Portal-Link, a session as a bearer token.
                    var headers: HTTPHeaders = ["Host": host, "X-Portal-Api-Key": plan.apiKey]
                    headers.add(name: plan.method == .sessionsVerify ? "Authorization" : "X-Portal-Link",
                                value: plan.method == .sessionsVerify ? "Bearer \(token)" : token)
                    return HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                }
                bodies = heads.map { _ in nil }
            case .connect, .binary:
                connect = true
                let path = ServerMethod.method(id: plan.method.rawValue)!.connectPath!
                bodies = plan.tokens.map { ByteBuffer(bytes: plan.request(carrying: $0, json: true)) }
                heads = bodies.map { body in
                    HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: [
                        "Host": host, "Content-Type": "application/json", "Authorization": "Bearer \(plan.apiKey)",
                        "Content-Length": String(body!.readableBytes),
                    ])
                }
            }
        }
    }

    private let requests: Requests
    private var nextAnswer: UInt32 = 1
    /// The answer being read.
    private var status: UInt16 = 0
    private var refusal: String?
    private var body: ByteBuffer?

    init(_ requests: Requests) { self.requests = requests }

    static func addHandlers(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHTTPClientHandlers()
    }

    var requestCount: Int { requests.heads.count }

    /// Every request carries the API key: nothing to wait for.
    mutating func greet(_ context: ChannelHandlerContext) -> Bool { false }

    mutating func write(_ index: Int, callID: UInt32, _ context: ChannelHandlerContext) {
        context.write(NIOAny(HTTPClientRequestPart.head(requests.heads[index])), promise: nil)
        if let body = requests.bodies[index] { context.write(NIOAny(HTTPClientRequestPart.body(.byteBuffer(body))), promise: nil) }
        context.write(NIOAny(HTTPClientRequestPart.end(nil)), promise: nil)
    }

    mutating func writeQueued(_ context: ChannelHandlerContext) {}

    mutating func read(_ part: HTTPClientResponsePart, _ answer: (WireAnswer) -> Bool) throws {
        switch part {
        case .head(let head):
            status = UInt16(clamping: head.status.code)
            refusal = head.headers.first(name: "X-Portal-Reason")
            body = nil
        case .body(var bytes):
            if requests.connect, status == 200 {
                if body == nil { body = bytes } else { body!.writeBuffer(&bytes) }
            }
        case .end:
            let callID = nextAnswer
            nextAnswer = nextAnswer == UInt32.max ? 1 : nextAnswer + 1
            let (decided, reason) = requests.connect ? connectAnswer() : forwardAuthAnswer()
            _ = answer(WireAnswer(callID: callID, status: status, decided: decided, reason: reason))
        }
    }

    /// 200 with the message, valid or not; any other status is Connect's error.
    private func connectAnswer() -> (decided: Bool, reason: Int) {
        guard status == 200 else { return (false, 0) }
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        if requests.sessions {
            guard let message = try? PortalLinks_V1_SessionVerifyResponse(jsonUTF8Bytes: bytes) else { return (true, VerifyAnswer.unreadable) }
            return (true, message.valid ? 0 : 1)
        }
        guard let message = try? PortalLinks_V1_VerifyResponse(jsonUTF8Bytes: bytes) else { return (true, VerifyAnswer.unreadable) }
        return (true, message.valid ? 0 : VerifyAnswer.slot(wireValue: message.reason.rawValue))
    }

    /// 200 lets the request through; 401 with a verify reason keeps it out. A refused API key (reason
    /// `caller`) or any other status is a failed call.
    private func forwardAuthAnswer() -> (decided: Bool, reason: Int) {
        if status == 200 { return (true, 0) }
        guard status == 401, let refusal, refusal != "caller" else { return (false, 0) }
        if requests.sessions { return (true, 1) }
        return (true, VerifyReason(rawValue: refusal).map { VerifyAnswer.slot(wireValue: $0.wireValue) } ?? VerifyAnswer.unreadable)
    }
}
