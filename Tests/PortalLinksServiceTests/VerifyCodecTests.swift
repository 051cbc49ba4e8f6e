import Foundation
import NIOCore
@testable import PortalLinksCore
import PortalLinksMessages
import SwiftProtobuf
import Testing
@testable import PortalLinksService
import PortalLinksWire

/// The hand-written codec must agree byte for byte with SwiftProtobuf.
@Suite struct VerifyCodecTests {
    static let claims: [LinkClaims] = [
        try! LinkClaims(keyID: KeyID(rawValue: 0x0a0b_0c0d), issuedAt: 1_800_000_000, expiresAt: 1_807_776_000, nonce: 1,
                        clientID: ClientID(parsing: "0f8fad5b-d9cb-469f-a165-70867728950e")),
        try! LinkClaims(keyID: KeyID(rawValue: 1), issuedAt: 1, expiresAt: 2, nonce: 2, clientID: .text("acme"), displayName: "Acme Corp"),
        try! LinkClaims(keyID: KeyID(rawValue: 0xffff_ffff), issuedAt: 1_800_000_000, expiresAt: Int64(UInt32.max), nonce: 3,
                        clientID: .text(String(repeating: "c", count: 64)), displayName: "Société Générale"),
    ]

    static var verifications: [LinkVerification] {
        var all: [LinkVerification] = [LinkVerification(reason: .malformed, claims: nil, linkID: nil)]
        for claims in Self.claims {
            all.append(LinkVerification(reason: nil, claims: claims, linkID: LinkID(rawValue: 0x0123_4567_89ab_cdef)))
            all.append(LinkVerification(reason: .expired, claims: claims, linkID: LinkID(rawValue: 7)))
        }
        return all
    }

    @Test func responsesMatchSwiftProtobuf() throws {
        for verification in Self.verifications {
            var buffer = ByteBuffer()
            VerifyCodec.writeResponse(verification, to: &buffer)
            let decoded = try PortalLinks_V1_VerifyResponse(serializedBytes: Array(buffer.readableBytesView))
            var expected = PortalLinks_V1_VerifyResponse()
            expected.valid = verification.isValid
            if let claims = verification.claims {
                expected.clientID = claims.clientID.description
                expected.displayName = claims.displayName ?? ""
                expected.expiresAt = claims.expiresAt
                expected.issuedAt = claims.issuedAt
                expected.keyID = claims.keyID.description
            }
            expected.reason = PortalLinks_V1_Reason(rawValue: verification.reason?.wireValue ?? 0)!
            expected.linkID = verification.linkID?.description ?? ""
            #expect(decoded == expected)
            let reference: [UInt8] = try expected.serializedBytes()
            #expect(Array(buffer.readableBytesView) == reference, "same bytes as SwiftProtobuf writes")
        }
    }

    /// The server writes header and payload in one go; the frame must read back as header + the same payload.
    @Test func wholeResponseFramesCarryThePayload() throws {
        var stream = ByteBuffer(bytes: [0xee])  // something already in the output buffer stays as it was
        for (index, verification) in Self.verifications.enumerated() {
            VerifyCodec.writeResponseFrame(callID: UInt32(0xfedc_0000 + index), verification, to: &stream)
        }
        #expect(stream.readInteger(as: UInt8.self) == 0xee)
        let decoder = FrameDecoder(side: .client)
        for (index, verification) in Self.verifications.enumerated() {
            let frame = try #require(try decoder.nextFrame(from: &stream))
            #expect(frame.header == FrameHeader(version: 0x81, code: 0, callID: UInt32(0xfedc_0000 + index),
                                                payloadLength: UInt32(frame.payload.readableBytes)))
            var payloadOnly = ByteBuffer()
            VerifyCodec.writeResponse(verification, to: &payloadOnly)
            #expect(frame.payload == payloadOnly)
        }
        #expect(stream.readableBytes == 0)
    }

    @Test func hexDigitsMatchFoundation() {
        for value: UInt64 in [0, 1, 0x9, 0xa, 0xf, 0x10, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, .max, 0xa0a0_9f9f_0000_ffff] {
            for digits in [4, 8, 12, 16] {
                var bytes = [UInt8](repeating: 0, count: 16)
                let written = bytes.withUnsafeMutableBytes { memory in
                    var out = FieldWriter(memory: memory)
                    out.hex(value, digits: digits)
                    return out.position
                }
                let masked = digits == 16 ? value : value & (1 << UInt64(digits * 4) - 1)
                let expected = String(repeating: "0", count: digits) + String(masked, radix: 16)
                #expect(written == digits)
                #expect(String(decoding: bytes[..<written], as: UTF8.self) == String(expected.suffix(digits)))
            }
        }
    }

    @Test func reasonNumbersMatchTheProto() {
        for reason in VerifyReason.allCases {
            let proto = PortalLinks_V1_Reason(rawValue: reason.wireValue)
            #expect(proto != nil && proto != .unspecified)
            #expect(VerifyReason(wireValue: reason.wireValue) == reason)
        }
        #expect(Set(VerifyReason.allCases.map(\.wireValue)).count == VerifyReason.allCases.count)
    }

    @Test func requestsAreReadLikeSwiftProtobuf() throws {
        var request = PortalLinks_V1_VerifyRequest()
        request.token = "AQoLDA1rSdIAa8B5AAEPj61b2ctGn6FlcIZ3KJUOBv5d5ptb1zHQCxfsVfAKRQ"
        var bytes: [UInt8] = try request.serializedBytes()
        #expect(VerifyCodec.withToken(in: ByteBuffer(bytes: bytes)) { String(decoding: $0, as: UTF8.self) } == request.token)
        // Unknown fields of every wire type are skipped; a repeated field's last value wins.
        bytes = [0x10, 0x96, 0x01, 0x19] + Array(repeating: 0, count: 8) + [0x25, 1, 2, 3, 4, 0x0a, 0x01, 0x41] + bytes
            + [0x32, 0x02, 0x61, 0x62]
        let parsed = try PortalLinks_V1_VerifyRequest(serializedBytes: bytes)
        #expect(VerifyCodec.withToken(in: ByteBuffer(bytes: bytes)) { String(decoding: $0, as: UTF8.self) } == parsed.token)
        #expect(VerifyCodec.withToken(in: ByteBuffer()) { $0.count } == 0)
    }

    @Test(arguments: [[0x0a], [0x0a, 0x05, 0x41], [0x0b], [0x80], [0x19, 0, 0], [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]] as [[UInt8]])
    func malformedRequestsAreRefused(_ bytes: [UInt8]) {
        #expect(VerifyCodec.withToken(in: ByteBuffer(bytes: bytes)) { $0.count } == nil)
        #expect((try? PortalLinks_V1_VerifyRequest(serializedBytes: bytes)) == nil)
    }
}

@Suite struct VerifyRequestEdgeTests {
    @Test func aTokenThatIsNotUTF8IsRefusedLikeSwiftProtobufDoes() {
        let bytes: [UInt8] = [0x0a, 0x02, 0xc3, 0x28]
        #expect((try? PortalLinks_V1_VerifyRequest(serializedBytes: bytes)) == nil)
        #expect(VerifyCodec.withToken(in: ByteBuffer(bytes: bytes)) { $0.count } == nil)
    }

    /// Field 1 with another wire type is an unknown field to SwiftProtobuf: accepted, token empty.
    @Test(arguments: [[0x08, 0x01] as [UInt8], [0x0d, 1, 2, 3, 4]])
    func fieldOneWithAnotherWireTypeIsSkippedLikeSwiftProtobufDoes(_ bytes: [UInt8]) throws {
        #expect(try PortalLinks_V1_VerifyRequest(serializedBytes: bytes).token == "")
        #expect(VerifyCodec.withToken(in: ByteBuffer(bytes: bytes)) { $0.count } == 0)
    }
}

/// The header's method ids and status codes are written by hand in the wire module; they must stay the
/// numbers wire.proto publishes to other-language clients.
@Suite struct HeaderConstantsMatchTheProto {
    @Test func methodIDs() {
        let pairs: [(MethodID, PortalLinks_V1_Method)] = [
            (.healthCheck, .healthCheck), (.authHello, .authHello), (.linksVerify, .linksVerify), (.linksIssue, .linksIssue),
            (.accountsRegister, .accountsRegister), (.accountsSignIn, .accountsSignIn), (.sessionsVerify, .sessionsVerify),
            (.sessionsRefresh, .sessionsRefresh), (.sessionsSignOut, .sessionsSignOut),
            (.accountsRequestPasswordReset, .accountsRequestPasswordReset), (.accountsResetPassword, .accountsResetPassword),
        ]
        for (wire, proto) in pairs { #expect(Int(wire.rawValue) == proto.rawValue, "\(wire)") }
        #expect(PortalLinks_V1_Method.allCases.filter { $0 != .unspecified }.count == pairs.count, "every proto method has an id here")
    }

    @Test func statusCodes() {
        for proto in PortalLinks_V1_StatusCode.allCases {
            let wire = StatusCode(rawValue: UInt16(proto.rawValue))
            #expect("STATUS_CODE_\(wire.description)" == "\(proto)".uppercasedSnakeCase(prefix: "STATUS_CODE_"), "\(proto)")
        }
        #expect(StatusCode.unauthenticated.rawValue == 16 && StatusCode.deadlineExceeded.rawValue == 4)
    }
}

extension String {
    /// `permissionDenied` → `STATUS_CODE_PERMISSION_DENIED`, to compare SwiftProtobuf's case names with the wire names.
    func uppercasedSnakeCase(prefix: String) -> String {
        prefix + unicodeScalars.map { CharacterSet.uppercaseLetters.contains($0) ? "_\($0)" : "\($0)" }.joined().uppercased()
    }
}
