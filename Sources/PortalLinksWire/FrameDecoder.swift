import NIOCore

/// Splits a byte stream into frames. The header is checked as soon as its 16 bytes are in: a wrong version
/// byte, non-zero flags or a payload over the limit is a `FrameError` (the connection is then closed) before
/// any of the payload is buffered. Clients use it as a ByteToMessageDecoder; the server calls `nextFrame`
/// itself, so that it can handle a whole pipelined read in one pass.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// Which version byte is expected: requests on a server, responses on a client.
    public enum Side: Sendable { case server, client }

    public static let defaultMaximumPayload = 64 * 1024

    let expectedVersion: UInt8
    let maximumPayload: Int

    public init(side: Side, maximumPayload: Int = defaultMaximumPayload) {
        expectedVersion = side == .server ? FrameHeader.requestVersion : FrameHeader.responseVersion
        self.maximumPayload = maximumPayload
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// Takes the whole frame at the start of `buffer`, or returns nil (consuming nothing) when more bytes are
    /// needed. The header is checked as soon as its 16 bytes are in.
    public func nextFrame(from buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        guard let header = buffer.withUnsafeReadableBytes({ FrameHeader.peek(in: $0) }),
              try isComplete(header, available: buffer.readableBytes)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameHeader.byteCount)
        return Frame(header: header, payload: buffer.readSlice(length: Int(header.payloadLength))!)
    }

    /// Hands every whole frame at the start of `buffer` to `handle`, header and payload where they lie in the
    /// buffer's memory (no slice, no copy), as long as `proceed` says so, and consumes the frames handed over.
    /// A bad header throws once the frames before it have been handled.
    public func consumeFrames(from buffer: inout ByteBuffer, while proceed: () -> Bool,
                              _ handle: (FrameHeader, UnsafeRawBufferPointer) -> Void) throws(FrameError) {
        var consumed = 0
        var failure: FrameError?
        buffer.withUnsafeReadableBytes { received in
            while proceed() {
                let rest = UnsafeRawBufferPointer(rebasing: received[consumed...])
                let header: FrameHeader
                do throws(FrameError) {
                    guard let complete = try nextHeader(in: rest) else { break }
                    header = complete
                } catch {
                    failure = error
                    break
                }
                let frameLength = FrameHeader.byteCount + Int(header.payloadLength)
                consumed += frameLength
                handle(header, UnsafeRawBufferPointer(rebasing: rest[FrameHeader.byteCount..<frameLength]))
            }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if let failure { throw failure }
    }

    /// The header of the frame at the start of `bytes` once the whole frame is there; nil (while the header
    /// checks out) when more bytes are needed.
    public func nextHeader(in bytes: UnsafeRawBufferPointer) throws(FrameError) -> FrameHeader? {
        guard let header = FrameHeader.peek(in: bytes), try isComplete(header, available: bytes.count) else { return nil }
        return header
    }

    /// Checks a header as soon as it is in, then tells whether its whole frame is among `available` bytes.
    private func isComplete(_ header: FrameHeader, available: Int) throws(FrameError) -> Bool {
        guard header.version == expectedVersion else { throw FrameError.unsupportedVersion(header.version) }
        guard header.flags == 0 else { throw FrameError.unsupportedFlags(header.flags) }
        guard header.payloadLength <= maximumPayload else {
            throw FrameError.payloadTooLarge(length: Int(header.payloadLength), limit: maximumPayload)
        }
        return available >= FrameHeader.byteCount + Int(header.payloadLength)
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // Bytes of an unfinished frame at the end of the stream are dropped with the connection.
        return .needMoreData
    }
}

/// Why a connection's byte stream was refused. The connection is closed.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupportedVersion(UInt8)
    case unsupportedFlags(UInt8)
    case payloadTooLarge(length: Int, limit: Int)

    public var description: String {
        switch self {
        case .unsupportedVersion(let version): "unsupported protocol version byte 0x\(String(version, radix: 16))"
        case .unsupportedFlags(let flags): "unsupported frame flags 0x\(String(flags, radix: 16))"
        case .payloadTooLarge(let length, let limit): "frame payload of \(length) bytes is over the limit of \(limit)"
        }
    }
}
