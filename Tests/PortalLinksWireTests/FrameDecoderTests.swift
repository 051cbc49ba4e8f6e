import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
@testable import PortalLinksWire

@Suite struct FrameDecoderTests {
    static func requestBytes(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { try! FrameEncoder().encode(data: frame, out: &buffer) }
        return buffer
    }

    static let frames: [Frame] = (0..<20).map { index in
        Frame.request(MethodID(rawValue: UInt16(index % 5)), callID: UInt32(index), deadlineMilliseconds: UInt32(index * 7),
                      payload: ByteBuffer(bytes: Array(repeating: UInt8(index), count: index * 13)))
    }

    @Test func dripFedAndCoalescedInputGiveTheSameFrames() throws {
        let input = Self.requestBytes(Self.frames)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, Self.frames)],
            decoderFactory: { FrameDecoder(side: .server) })
    }

    @Test func headerLayoutIsBigEndianAndSixteenBytes() {
        let frame = Frame.request(.linksVerify, callID: 0x0102_0304, deadlineMilliseconds: 0x0a0b_0c0d,
                                  payload: ByteBuffer(bytes: [0xaa, 0xbb]))
        let bytes = Array(Self.requestBytes([frame]).readableBytesView)
        #expect(bytes == [0x01, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb])
        let response = Frame.response(.unauthenticated, callID: 9, payload: ByteBuffer())
        #expect(Array(Self.requestBytes([response]).readableBytesView) == [0x81, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func anOversizeLengthIsRefusedBeforeItsPayloadArrives() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(side: .server, maximumPayload: 1_024)))
        var header = ByteBuffer()
        FrameHeader(version: 1, code: 3, callID: 1, payloadLength: 1_025).write(to: &header)
        #expect(throws: FrameError.payloadTooLarge(length: 1_025, limit: 1_024)) { try channel.writeInbound(header) }
    }

    @Test(arguments: [
        (FrameHeader(version: 0x02, code: 1, callID: 1, payloadLength: 0), FrameError.unsupportedVersion(0x02)),
        (FrameHeader(version: 0x81, code: 1, callID: 1, payloadLength: 0), FrameError.unsupportedVersion(0x81)),
        (FrameHeader(version: 0x01, flags: 0x01, code: 1, callID: 1, payloadLength: 0), FrameError.unsupportedFlags(0x01)),
    ])
    func wrongVersionOrFlagsAreRefused(_ header: FrameHeader, _ error: FrameError) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(side: .server)))
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        #expect(throws: error) { try channel.writeInbound(buffer) }
    }

    @Test func aClientExpectsResponses() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(side: .client)))
        let response = Frame.response(.ok, callID: 5, payload: ByteBuffer(bytes: [1, 2, 3]))
        try channel.writeInbound(Self.requestBytes([response]))
        #expect(try channel.readInbound(as: Frame.self) == response)
        #expect(throws: FrameError.unsupportedVersion(0x01)) {
            try channel.writeInbound(Self.requestBytes([Frame.request(.healthCheck, callID: 1, payload: ByteBuffer())]))
        }
    }
}
