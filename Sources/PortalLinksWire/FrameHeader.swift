import NIOCore

/// The 16-byte header before every payload (docs/protocol.md). Requests carry a method id and a deadline;
/// responses carry a status code in the same place and a zero deadline.
public struct FrameHeader: Hashable, Sendable {
    public static let byteCount = 16
    public static let requestVersion: UInt8 = 0x01
    public static let responseVersion: UInt8 = 0x81

    /// 0x01 for a request, 0x81 for a response.
    public var version: UInt8
    /// Must be 0; bit 0 is reserved for compression.
    public var flags: UInt8
    /// The method id of a request, or the status code of a response.
    public var code: UInt16
    public var callID: UInt32
    /// Milliseconds from receipt, 0 for none; always 0 in a response.
    public var deadlineMilliseconds: UInt32
    public var payloadLength: UInt32

    public init(version: UInt8, flags: UInt8 = 0, code: UInt16, callID: UInt32, deadlineMilliseconds: UInt32 = 0,
                payloadLength: UInt32) {
        self.version = version
        self.flags = flags
        self.code = code
        self.callID = callID
        self.deadlineMilliseconds = deadlineMilliseconds
        self.payloadLength = payloadLength
    }

    public var isResponse: Bool { version == Self.responseVersion }

    /// Reads a header without consuming it; nil when fewer than 16 bytes are readable.
    static func peek(in buffer: ByteBuffer) -> FrameHeader? {
        buffer.withUnsafeReadableBytes { peek(in: $0) }
    }

    /// Reads the header at the start of `bytes`; nil when there are fewer than 16.
    public static func peek(in bytes: UnsafeRawBufferPointer) -> FrameHeader? {
        guard bytes.count >= byteCount else { return nil }
        return FrameHeader(version: bytes[0], flags: bytes[1],
                           code: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)),
                           callID: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                           deadlineMilliseconds: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                           payloadLength: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
    }

    /// Stores a response header for `status` and `callID` at the start of `memory` (at least 16 bytes).
    @inlinable
    public static func storeResponse(status: StatusCode, callID: UInt32, payloadLength: Int, in memory: UnsafeMutableRawBufferPointer) {
        memory.storeBytes(of: responseVersion, toByteOffset: 0, as: UInt8.self)
        memory.storeBytes(of: 0, toByteOffset: 1, as: UInt8.self)
        memory.storeBytes(of: status.rawValue.bigEndian, toByteOffset: 2, as: UInt16.self)
        memory.storeBytes(of: callID.bigEndian, toByteOffset: 4, as: UInt32.self)
        memory.storeBytes(of: 0, toByteOffset: 8, as: UInt32.self)
        memory.storeBytes(of: UInt32(payloadLength).bigEndian, toByteOffset: 12, as: UInt32.self)
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(version, flags, code, callID, deadlineMilliseconds, payloadLength)
    }
}

/// A header and its payload.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    public var payload: ByteBuffer

    public init(header: FrameHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    /// A request frame for `method` carrying `payload`.
    public static func request(_ method: MethodID, callID: UInt32, deadlineMilliseconds: UInt32 = 0, payload: ByteBuffer) -> Frame {
        Frame(header: FrameHeader(version: FrameHeader.requestVersion, code: method.rawValue, callID: callID,
                                  deadlineMilliseconds: deadlineMilliseconds, payloadLength: UInt32(payload.readableBytes)),
              payload: payload)
    }

    /// A response frame with `status` carrying `payload`.
    public static func response(_ status: StatusCode, callID: UInt32, payload: ByteBuffer) -> Frame {
        Frame(header: FrameHeader(version: FrameHeader.responseVersion, code: status.rawValue, callID: callID,
                                  payloadLength: UInt32(payload.readableBytes)),
              payload: payload)
    }
}

extension ByteBuffer {
    /// Writes a response frame in place: the header, then whatever `writePayload` writes, then the payload
    /// length patched into the header. One buffer, no copy of the payload.
    public mutating func writeResponseFrame(status: StatusCode, callID: UInt32, writePayload: (inout ByteBuffer) -> Void) {
        let start = writerIndex
        FrameHeader(version: FrameHeader.responseVersion, code: status.rawValue, callID: callID, payloadLength: 0).write(to: &self)
        writePayload(&self)
        setInteger(UInt32(writerIndex - start - FrameHeader.byteCount), at: start + 12)
    }
}
