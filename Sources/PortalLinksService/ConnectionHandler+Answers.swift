import NIOCore
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// Answers: gathered during a read into one buffer and written with one write and one flush when the read
/// completes (or when an off-loop call comes back), with their latency taken once for the batch.
extension ConnectionHandler {
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
    static let outputCapacity = 4_096

    func appendOutput(_ context: ChannelHandlerContext, _ header: FrameHeader, status: StatusCode,
                              payload: (inout ByteBuffer) -> Void) {
        if output == nil { output = context.channel.allocator.buffer(capacity: Self.outputCapacity) }
        output!.writeResponseFrame(status: status, callID: header.callID, writePayload: payload)
        batch.record(method: header.code, status: status)
    }

    /// Writes the answers gathered so far. Their latency, from the read that brought them to this write, is
    /// taken here: one clock reading for the batch.
    func flushOutput(_ context: ChannelHandlerContext) {
        if batch.hasPending {
            let now = context.eventLoop.now
            machine.activity(at: now)
            batch.flush(into: metrics, latency: now - readAt)
        }
        if let pending = output, pending.readableBytes > 0 {
            output = nil
            context.write(wrapOutboundOut(pending), promise: nil)
        }
        context.flush()
    }
}
