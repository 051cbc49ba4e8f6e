import NIOCore
import PortalLinksWire

/// The Verify requests of a run, framed once before timing starts, back to back in one array. Sending one
/// is a copy and a call id, so that the load generator's own cost per call stays small next to the server's.
struct RequestFrames: Sendable {
    private let bytes: [UInt8]
    /// Frame `i` is `bytes[starts[i] ..< starts[i + 1]]`.
    private let starts: [Int]

    var count: Int { starts.count - 1 }

    /// Where the call id sits in a request header (docs/protocol.md).
    private static let callIDOffset = 4

    init(method: MethodID, payloads: [[UInt8]]) {
        var buffer = ByteBufferAllocator().buffer(capacity: payloads.reduce(0) { $0 + FrameHeader.byteCount + $1.count })
        var starts = [0]
        for payload in payloads {
            buffer.writeMultipleIntegers(FrameHeader.requestVersion, UInt8(0), method.rawValue, UInt32(0), UInt32(0),
                                         UInt32(payload.count))
            buffer.writeBytes(payload)
            starts.append(buffer.readableBytes)
        }
        bytes = Array(buffer.readableBytesView)
        self.starts = starts
    }

    /// Appends frame `index` to `buffer`, carrying `callID`.
    func write(_ index: Int, callID: UInt32, to buffer: inout ByteBuffer) {
        let start = starts[index]
        let length = starts[index + 1] - start
        _ = bytes.withUnsafeBytes { frames in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
                target.baseAddress!.copyMemory(from: frames.baseAddress! + start, byteCount: length)
                target.storeBytes(of: callID.bigEndian, toByteOffset: Self.callIDOffset, as: UInt32.self)
                return length
            }
        }
    }
}
