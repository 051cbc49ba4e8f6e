import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import PortalLinksCore
import PortalLinksMessages
import PortalLinksService
import PortalLinksWire
import SwiftProtobuf

/// Connect unary calls (connectrpc.com, "Connect Protocol Reference") for every method of the server's table
/// that has a Connect path: `POST /portal_links.v1.Links/Verify` and so on, with JSON (the proto3 JSON
/// mapping) or binary protobuf bodies, gzipped or not. Failures are Connect error bodies; an invalid link is still a normal
/// answer. Every handler answers; none throws (Hummingbird would turn a throw into an empty 500).
struct ConnectRoutes: Sendable {
    let calls: MessageCalls
    let callers: CallerCheck
    let metrics: ServerMetrics
    let maximumBodyBytes: Int
    /// `Connect-Timeout-Ms` is clamped to this; calls without one get no deadline, as on the binary port.
    let maximumTimeout: TimeAmount

    static let protocolVersion = HTTPField.Name("Connect-Protocol-Version")!
    static let timeout = HTTPField.Name("Connect-Timeout-Ms")!
    static let acceptPost = HTTPField.Name("Accept-Post")!

    enum Codec {
        case json, proto

        /// `application/json` (charset utf-8 if any) or `application/proto`; nil for anything else.
        init?(contentType: String?) {
            guard let contentType else { return nil }
            let parts = contentType.lowercased().split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            switch parts.first {
            case "application/json":
                guard parts.dropFirst().allSatisfy({ $0 == "charset=utf-8" }) else { return nil }
                self = .json
            case "application/proto":
                guard parts.count == 1 else { return nil }
                self = .proto
            default:
                return nil
            }
        }

        var contentType: String { self == .json ? "application/json" : "application/proto" }
    }

    func register(on router: Router<GatewayContext>) {
        for method in ServerMethod.all {
            guard let path = method.connectPath else { continue }
            router.post(RouterPath(path)) { request, context in await answer(method, request, context) }
            // Connect defines POST only (and GET for side-effect-free methods, which these are not declared to be).
            for other: HTTPRequest.Method in [.get, .head, .put, .delete, .patch, .options] {
                router.on(RouterPath(path), method: other) { _, _ in
                    Response(status: .methodNotAllowed, headers: [.allow: "POST"])
                }
            }
        }
    }

    private func answer(_ method: ServerMethod, _ request: Request, _ context: GatewayContext) async -> Response {
        let started = NIODeadline.now()
        var request = request
        let outcome = await call(method, &request, context)
        let response: Response
        switch outcome {
        case .success(let (message, codec)):
            let bytes: [UInt8]? = codec == .json
                ? try? message.jsonUTF8Bytes() : try? message.serializedBytes()
            guard let bytes else {
                return errorResponse(ConnectError(status: .internal, message: "the answer could not be encoded"), method, started)
            }
            var verified: VerifyReason?? = .none
            if let verify = message as? PortalLinks_V1_VerifyResponse {
                verified = .some(verify.valid ? nil : VerifyReason(wireValue: verify.reason.rawValue))
            }
            metrics.record(method.id, status: .ok, verified: verified, latency: .now() - started)
            response = Response(status: .ok, headers: [.contentType: codec.contentType],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .failure(.unsupportedMediaType):
            metrics.record(method.id, status: .invalidArgument, latency: .now() - started)
            response = Response(status: .unsupportedMediaType, headers: [Self.acceptPost: "application/json, application/proto"])
        case .failure(.connect(let error)):
            response = errorResponse(error, method, started)
        }
        return response
    }

    private func errorResponse(_ error: ConnectError, _ method: ServerMethod, _ started: NIODeadline) -> Response {
        metrics.record(method.id, status: error.status, latency: .now() - started)
        return Response(status: error.httpStatus, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: error.body)))
    }

    enum Refusal: Error {
        case unsupportedMediaType
        case connect(ConnectError)
    }

    private func call(_ method: ServerMethod, _ request: inout Request,
                      _ context: GatewayContext) async -> Result<(any SwiftProtobuf.Message, Codec), Refusal> {
        guard let codec = Codec(contentType: request.headers[.contentType]) else { return .failure(.unsupportedMediaType) }
        func refuse(_ status: StatusCode, _ message: String) -> Result<(any SwiftProtobuf.Message, Codec), Refusal> {
            .failure(.connect(ConnectError(status: status, message: message)))
        }
        if let version = request.headers[Self.protocolVersion], version != "1" {
            return refuse(.invalidArgument, "Connect-Protocol-Version must be 1")
        }
        let encoding = request.headers[.contentEncoding]?.lowercased() ?? "identity"
        guard encoding == "identity" || encoding == "gzip" else {
            return refuse(.unimplemented, "content encoding \(encoding) is not supported; supported: gzip, identity")
        }
        var deadline: NIODeadline?
        if let timeout = request.headers[Self.timeout] {
            guard (1...10).contains(timeout.utf8.count), timeout.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                  let milliseconds = Int64(timeout), milliseconds > 0 else {
                return refuse(.invalidArgument, "Connect-Timeout-Ms takes a positive number of 1 to 10 digits")
            }
            deadline = .now() + min(.milliseconds(milliseconds), maximumTimeout)
        }
        var callerName = "-"
        if let scope = method.scope {
            switch await callers.caller(apiKey: CallerCheck.bearer(request.headers), needs: scope, from: context.peer) {
            case .success(let name): callerName = name
            case .failure(let error): return .failure(.connect(error))
            }
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodyBytes {
            return refuse(.resourceExhausted, "the request is larger than \(maximumBodyBytes) bytes")
        }
        var body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maximumBodyBytes)
        } catch {
            return refuse(.resourceExhausted, "the request is larger than \(maximumBodyBytes) bytes")
        }
        // Connect's Python client gzips request bodies by default. The limit holds for what they inflate to.
        if encoding == "gzip", body.readableBytes > 0 {
            do {
                body = try body.decompress(with: .gzip(), maxSize: maximumBodyBytes)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                return refuse(.resourceExhausted, "the request inflates to more than \(maximumBodyBytes) bytes")
            } catch {
                return refuse(.invalidArgument, "the body is not valid gzip")
            }
        }
        let decoded: any SwiftProtobuf.Message
        do {
            let bytes = Array(body.readableBytesView)
            switch codec {
            case .json:
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true  // clients built from newer protos, as connect-go does
                decoded = try method.requestType.init(jsonUTF8Bytes: bytes, options: options)
            case .proto:
                decoded = try method.requestType.init(serializedBytes: bytes)
            }
        } catch {
            return refuse(.invalidArgument, "the body is not a \(method.requestType.protoMessageName) in \(codec == .json ? "JSON" : "protobuf")")
        }
        switch await calls.call(method, decoded, caller: callerName, deadline: deadline) {
        case .success(let response): return .success((response, codec))
        case .failure(let failure):
            return .failure(.connect(ConnectError(status: failure.status, message: failure.message, reason: failure.reason)))
        }
    }
}
