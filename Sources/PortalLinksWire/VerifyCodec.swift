import NIOCore
import PortalLinksCore

/// Links.Verify's messages read from and written into frame buffers by hand: the service's hot path neither
/// decodes a protobuf object nor builds a string. Byte for byte what SwiftProtobuf reads and writes for
/// `VerifyRequest` and `VerifyResponse` (the tests check both ways).
public enum VerifyCodec {
    /// Calls `body` with the UTF-8 bytes of the request's token (empty when absent), or returns nil when the
    /// payload is not a well-formed protobuf message.
    public static func withToken<Result>(in payload: ByteBuffer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        payload.withUnsafeReadableBytes { bytes in
            guard let found = ProtobufFields.lastLengthDelimited(field: 1, in: bytes) else { return nil }
            let range = found ?? 0..<0
            let token = UnsafeRawBufferPointer(rebasing: bytes[range])
            return body(token.bindMemory(to: UInt8.self))
        }
    }

    /// Verifies the token in a VerifyRequest payload straight from the frame's bytes; nil when the payload is not
    /// a well-formed protobuf message.
    public static func verify(_ payload: ByteBuffer, with verifier: LinkVerifier, at now: Int64) -> LinkVerification? {
        payload.withUnsafeReadableBytes { bytes in
            guard let found = ProtobufFields.lastLengthDelimited(field: 1, in: bytes) else { return nil }
            let token = UnsafeRawBufferPointer(rebasing: bytes[found ?? 0..<0])
            return verifier.verify(utf8: token.bindMemory(to: UInt8.self), at: now)
        }
    }

    /// Writes the `VerifyResponse` for `verification` to `buffer`.
    public static func writeResponse(_ verification: LinkVerification, to buffer: inout ByteBuffer) {
        ProtobufFields.writeVarintField(1, verification.isValid ? 1 : 0, to: &buffer)
        if let claims = verification.claims {
            switch claims.clientID {
            case .uuid(let uuid):
                ProtobufFields.writeKey(field: 2, wireType: ProtobufFields.lengthDelimited, to: &buffer)
                ProtobufFields.writeVarint(36, to: &buffer)
                ProtobufFields.writeHex(uuid.high >> 32, digits: 8, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "-"))
                ProtobufFields.writeHex(uuid.high >> 16 & 0xffff, digits: 4, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "-"))
                ProtobufFields.writeHex(uuid.high & 0xffff, digits: 4, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "-"))
                ProtobufFields.writeHex(uuid.low >> 48, digits: 4, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "-"))
                ProtobufFields.writeHex(uuid.low & 0xffff_ffff_ffff, digits: 12, to: &buffer)
            case .text(let text):
                ProtobufFields.writeStringField(2, text, to: &buffer)
            }
            if let name = claims.displayName { ProtobufFields.writeStringField(3, name, to: &buffer) }
            ProtobufFields.writeVarintField(4, UInt64(bitPattern: claims.expiresAt), to: &buffer)
            ProtobufFields.writeVarintField(5, UInt64(bitPattern: claims.issuedAt), to: &buffer)
            ProtobufFields.writeHexField(6, UInt64(claims.keyID.rawValue), digits: 8, to: &buffer)
        }
        if let reason = verification.reason {
            ProtobufFields.writeVarintField(7, UInt64(reason.wireValue), to: &buffer)
        }
        if let linkID = verification.linkID {
            ProtobufFields.writeHexField(8, linkID.rawValue, digits: 16, to: &buffer)
        }
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
