import NIOCore
import PortalLinksWire

/// The frame decoder on arbitrary byte streams. Byte 0 of the input picks the side and how the rest arrives
/// in chunks; the rest is the stream. The decoder must cut the same frames whether the stream arrives whole
/// or in pieces, refuse a bad header as soon as its 16 bytes are in (before any payload is waited for), and
/// hand over only frames that keep the protocol's rules.
public enum FrameChecks {
    /// Small, so that lengths on both sides of the limit are within the fuzzer's reach.
    static let limit = 300

    public static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFinding) {
        guard let control = input.first else { return }
        let stream = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let side: FrameDecoder.Side = control & 0x80 == 0 ? .server : .client
        let decoder = FrameDecoder(side: side, maximumPayload: limit)
        let expected = cutWhole(stream, decoder)
        let chunked = try cutInChunks(stream, decoder, chunkSize: 1 + Int(control & 0x7F) % 23)
        try expect(chunked.frames == expected.frames,
                   "chunked reads cut \(chunked.frames.count) frames, a whole read \(expected.frames.count)")
        try expect(chunked.error == expected.error,
                   "chunked reads ended with \(String(describing: chunked.error)), a whole read with \(String(describing: expected.error))")
        let version = side == .server ? FrameHeader.requestVersion : FrameHeader.responseVersion
        var offset = 0
        for frame in expected.frames {
            try expect(frame.header.version == version && frame.header.flags == 0, "a frame with a bad header was handed over")
            try expect(frame.payload.count == Int(frame.header.payloadLength) && frame.payload.count <= limit,
                       "payload of \(frame.payload.count) bytes for a header saying \(frame.header.payloadLength)")
            // Each frame is the stream's bytes, header then payload, as the encoder writes them.
            var encoded = ByteBuffer()
            try? FrameEncoder().encode(data: Frame(header: frame.header, payload: ByteBuffer(bytes: frame.payload)), out: &encoded)
            try expect(Array(encoded.readableBytesView) == Array(stream[offset..<(offset + encoded.readableBytes)]),
                       "a frame re-encoded differs from the bytes it was cut from")
            offset += encoded.readableBytes
        }
        if expected.error != nil {
            // The bad header starts right after the last good frame and is refused once its 16 bytes are in.
            try expect(chunked.refusedAfter! >= offset + FrameHeader.byteCount, "a header was refused before it was complete")
            try expect(chunked.refusedAfter! - chunked.lastChunk < offset + FrameHeader.byteCount,
                       "a bad header was refused only after more bytes than its own 16 arrived")
        }
    }

    struct CutFrame: Equatable {
        let header: FrameHeader
        let payload: [UInt8]
    }

    struct Outcome {
        var frames: [CutFrame] = []
        var error: FrameError?
        /// Bytes fed when the error was thrown, and the size of the chunk that completed them.
        var refusedAfter: Int?
        var lastChunk = 0
    }

    /// The reference: every frame taken one at a time, with `nextFrame`, from the whole stream.
    static func cutWhole(_ stream: UnsafeRawBufferPointer, _ decoder: FrameDecoder) -> Outcome {
        var buffer = ByteBuffer(bytes: stream)
        var outcome = Outcome()
        do {
            while let frame = try decoder.nextFrame(from: &buffer) {
                outcome.frames.append(CutFrame(header: frame.header, payload: Array(frame.payload.readableBytesView)))
            }
        } catch {
            outcome.error = error
        }
        return outcome
    }

    /// As the server reads: chunks appended to one buffer, frames consumed in place after each.
    static func cutInChunks(_ stream: UnsafeRawBufferPointer, _ decoder: FrameDecoder, chunkSize: Int) throws(FuzzFinding) -> Outcome {
        var buffer = ByteBuffer()
        var outcome = Outcome()
        var fed = 0
        while fed < stream.count {
            let chunk = min(chunkSize, stream.count - fed)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stream[fed..<(fed + chunk)]))
            fed += chunk
            let before = buffer.readableBytes
            var handed = 0
            do {
                try decoder.consumeFrames(from: &buffer, while: { true }) { header, payload in
                    outcome.frames.append(CutFrame(header: header, payload: Array(payload)))
                    handed += FrameHeader.byteCount + payload.count
                }
            } catch {
                outcome.error = error
                outcome.refusedAfter = fed
                outcome.lastChunk = chunk
                try expect(before - buffer.readableBytes == handed, "frames before a bad header were not consumed exactly")
                return outcome
            }
            try expect(before - buffer.readableBytes == handed, "consumed \(before - buffer.readableBytes) bytes for frames of \(handed)")
        }
        return outcome
    }
}
