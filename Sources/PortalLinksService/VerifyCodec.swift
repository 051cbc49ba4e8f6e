import NIOCore
import PortalLinksCore
import PortalLinksWire

/// Links.Verify's messages read from and written into frame buffers by hand: the service's hot path neither
/// decodes a protobuf object nor builds a string. Here rather than in PortalLinksWire because it speaks the
/// core's types (the verifier and its outcome), which the client and the wire format do not need. Byte for byte what SwiftProtobuf reads and writes for
/// `VerifyRequest` and `VerifyResponse` (the tests check both ways).
public enum VerifyCodec {
    /// Calls `body` with the UTF-8 bytes of the request's token (empty when absent), or returns nil when the
    /// payload is not a VerifyRequest SwiftProtobuf would accept.
    public static func withToken<Result>(in payload: ByteBuffer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        payload.withUnsafeReadableBytes { bytes in token(in: bytes).map(body) }
    }

    /// Verifies the token in a VerifyRequest payload and hands `body` the outcome, its text still in the
    /// decoded token; false, without calling `body`, when the payload is not a VerifyRequest SwiftProtobuf
    /// would accept.
    public static func verify(_ payload: ByteBuffer, with verifier: LinkVerifier, at now: Int64,
                              _ body: (BorrowedLinkVerification) -> Void) -> Bool {
        payload.withUnsafeReadableBytes { verify($0, with: verifier, at: now, body) }
    }

    /// The same, from payload bytes still in the connection's read buffer: nothing is copied or allocated.
    public static func verify(_ payload: UnsafeRawBufferPointer, with verifier: LinkVerifier, at now: Int64,
                              _ body: (BorrowedLinkVerification) -> Void) -> Bool {
        guard let token = token(in: payload) else { return false }
        verifier.withVerification(utf8: token, at: now, body)
        return true
    }

    /// Field 1 of the message (its last occurrence), or nil when the message is malformed or the field is not
    /// valid UTF-8.
    static func token(in bytes: UnsafeRawBufferPointer) -> UnsafeBufferPointer<UInt8>? {
        guard let found = ProtobufFields.lastLengthDelimited(field: 1, in: bytes) else { return nil }
        let token = UnsafeRawBufferPointer(rebasing: bytes[found ?? 0..<0])
        // A protobuf string must be UTF-8.
        return UTF8Text.isValid(token) ? token.assumingMemoryBound(to: UInt8.self) : nil
    }

    /// The most a VerifyResponse can take: two 64-byte texts, 8 + 16 hex digits, two times, and field keys.
    static let maximumResponseBytes = 256

    /// Writes the `VerifyResponse` for `verification` to `buffer`, straight into its memory.
    public static func writeResponse(_ verification: BorrowedLinkVerification, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumResponseBytes) { memory in
            writeResponse(verification, into: memory)
        }
    }

    public static func writeResponse(_ verification: LinkVerification, to buffer: inout ByteBuffer) {
        verification.withBorrowed { writeResponse($0, to: &buffer) }
    }

    /// Writes a whole response frame (status OK) carrying the `VerifyResponse` for `verification`: one write
    /// into the buffer's memory, header included.
    public static func writeResponseFrame(callID: UInt32, _ verification: BorrowedLinkVerification, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FrameHeader.byteCount + maximumResponseBytes) { memory in
            let length = writeResponse(verification, into: UnsafeMutableRawBufferPointer(rebasing: memory[FrameHeader.byteCount...]))
            FrameHeader.storeResponse(status: .ok, callID: callID, payloadLength: length, in: memory)
            return FrameHeader.byteCount + length
        }
    }

    public static func writeResponseFrame(callID: UInt32, _ verification: LinkVerification, to buffer: inout ByteBuffer) {
        verification.withBorrowed { writeResponseFrame(callID: callID, $0, to: &buffer) }
    }

    /// Writes the message into `memory` (at least `maximumResponseBytes`) and returns its length.
    private static func writeResponse(_ verification: BorrowedLinkVerification, into memory: UnsafeMutableRawBufferPointer) -> Int {
        precondition(memory.count >= maximumResponseBytes)
        var out = FieldWriter(memory: memory)
        if verification.isValid { out.varintField(1, 1) }
        if let claims = verification.claims {
            switch claims.clientID {
            case .uuid(let uuid):
                out.key(2, wireType: ProtobufFields.lengthDelimited)
                out.varint(36)
                out.hex(uuid.high >> 32, digits: 8)
                out.byte(UInt8(ascii: "-"))
                out.hex(uuid.high >> 16 & 0xffff, digits: 4)
                out.byte(UInt8(ascii: "-"))
                out.hex(uuid.high & 0xffff, digits: 4)
                out.byte(UInt8(ascii: "-"))
                out.hex(uuid.low >> 48, digits: 4)
                out.byte(UInt8(ascii: "-"))
                out.hex(uuid.low & 0xffff_ffff_ffff, digits: 12)
            case .text(let text):
                out.bytesField(2, text)
            }
            if let name = claims.displayName { out.bytesField(3, name) }
            out.varintField(4, UInt64(bitPattern: claims.expiresAt))
            out.varintField(5, UInt64(bitPattern: claims.issuedAt))
            out.key(6, wireType: ProtobufFields.lengthDelimited)
            out.varint(8)
            out.hex(UInt64(claims.keyID.rawValue), digits: 8)
        }
        if let reason = verification.reason { out.varintField(7, UInt64(reason.wireValue)) }
        if let linkID = verification.linkID {
            out.key(8, wireType: ProtobufFields.lengthDelimited)
            out.varint(16)
            out.hex(linkID.rawValue, digits: 16)
        }
        return out.position
    }
}

/// Protobuf fields written into raw memory that the caller has checked is large enough for the message
/// (`maximumResponseBytes`), so single bytes go in without a bounds check each.
struct FieldWriter {
    let base: UnsafeMutablePointer<UInt8>
    var position = 0

    init(memory: UnsafeMutableRawBufferPointer) { base = memory.baseAddress!.assumingMemoryBound(to: UInt8.self) }

    mutating func byte(_ value: UInt8) {
        base[position] = value
        position += 1
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    mutating func key(_ field: UInt64, wireType: UInt8) { varint(field << 3 | UInt64(wireType)) }

    /// Proto3: zero is the default and is not written.
    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        key(field, wireType: ProtobufFields.varint)
        varint(value)
    }

    /// A string (or bytes) field of at most 64 bytes; proto3 leaves an empty one out.
    mutating func bytesField(_ field: UInt64, _ value: UnsafeRawBufferPointer) {
        guard !value.isEmpty else { return }
        key(field, wireType: ProtobufFields.lengthDelimited)
        varint(UInt64(value.count))
        UnsafeMutableRawPointer(base + position).copyMemory(from: value.baseAddress!, byteCount: value.count)
        position += value.count
    }

    /// `count` (4, 8, 12 or 16) lowercase hex digits of the low bits of `value`, in whole stores of eight or
    /// four digits.
    mutating func hex(_ value: UInt64, digits count: Int) {
        var remaining = count
        while remaining >= 8 {
            remaining -= 8
            let digits = Self.hexDigits(UInt32(truncatingIfNeeded: value >> UInt64(remaining * 4)))
            UnsafeMutableRawPointer(base + position).storeBytes(of: digits.bigEndian, as: UInt64.self)
            position += 8
        }
        if remaining == 4 {
            // The four digits of the low 16 bits are the last four bytes of the eight.
            let digits = Self.hexDigits(UInt32(truncatingIfNeeded: value & 0xffff))
            UnsafeMutableRawPointer(base + position).storeBytes(of: UInt32(truncatingIfNeeded: digits).bigEndian, as: UInt32.self)
            position += 4
        }
    }

    /// The eight hex digits of `value`, most significant in the most significant byte: each nibble spread
    /// into its own byte, then 0...9 and 10...15 shifted to '0'... and 'a'... without a branch per digit.
    static func hexDigits(_ value: UInt32) -> UInt64 {
        var spread = UInt64(value)
        spread = (spread | spread << 16) & 0x0000_ffff_0000_ffff
        spread = (spread | spread << 8) & 0x00ff_00ff_00ff_00ff
        spread = (spread | spread << 4) & 0x0f0f_0f0f_0f0f_0f0f
        let letters = (spread + 0x0606_0606_0606_0606) >> 4 & 0x0101_0101_0101_0101  // 1 where the nibble is ≥ 10
        return spread + 0x3030_3030_3030_3030 + letters * 0x27
    }
}

extension VerifyReason {
    /// The `Reason` enum number in links.proto.
    public var wireValue: Int {
        switch self {
        case .malformed: 1
        case .unsupportedVersion: 2
        case .unknownKey: 3
        case .keyDisabled: 4
        case .keyExpired: 5
        case .badSignature: 6
        case .expired: 7
        case .notYetValid: 8
        case .linkRevoked: 9
        case .clientRevoked: 10
        case .clientDisabled: 11
        }
    }

    public init?(wireValue: Int) {
        guard let reason = Self.allCases.first(where: { $0.wireValue == wireValue }) else { return nil }
        self = reason
    }
}
