import NIOCore

/// Writes frames: the header, then the payload.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) throws {
        out.reserveCapacity(minimumWritableBytes: FrameHeader.byteCount + frame.payload.readableBytes)
        frame.header.write(to: &out)
        var payload = frame.payload
        out.writeBuffer(&payload)
    }
}
