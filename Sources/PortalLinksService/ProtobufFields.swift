import NIOCore

/// Just enough of the protobuf wire format to read a VerifyRequest straight from a frame buffer (writing is
/// `FieldWriter`'s), so that the verify path allocates nothing. Everything else goes through SwiftProtobuf.
enum ProtobufFields {
    static let varint: UInt8 = 0
    static let fixed64: UInt8 = 1
    static let lengthDelimited: UInt8 = 2
    static let fixed32: UInt8 = 5

    static func readVarint(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// Finds the last occurrence of length-delimited field `number` (protobuf's "last one wins"), skipping
    /// every other well-formed field. Nil when the message is malformed.
    static func lastLengthDelimited(field number: UInt64, in bytes: UnsafeRawBufferPointer) -> Range<Int>?? {
        var offset = 0
        var found: Range<Int>?
        while offset < bytes.count {
            guard let key = readVarint(bytes, at: &offset) else { return nil }
            let wireType = UInt8(key & 7)
            // As SwiftProtobuf does, the wanted field number with another wire type is skipped as unknown.
            switch wireType {
            case varint:
                guard readVarint(bytes, at: &offset) != nil else { return nil }
            case fixed64:
                guard offset + 8 <= bytes.count else { return nil }
                offset += 8
            case lengthDelimited:
                guard let length = readVarint(bytes, at: &offset), length <= UInt64(bytes.count - offset) else { return nil }
                let end = offset + Int(length)
                if key >> 3 == number { found = offset..<end }
                offset = end
            case fixed32:
                guard offset + 4 <= bytes.count else { return nil }
                offset += 4
            default:
                return nil
            }
        }
        return .some(found)
    }
}
