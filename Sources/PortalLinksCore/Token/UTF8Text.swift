/// UTF-8 checks on bytes in place, without building a string.
public enum UTF8Text {
    /// Whether `bytes` is valid UTF-8. ASCII, every token and most IDs and names, is checked eight bytes at a
    /// time; anything else goes to the standard library's validator, which allocates nothing either.
    @inline(__always)
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        isASCII(bytes) || (try? UTF8Span(validating: bytes.assumingMemoryBound(to: UInt8.self).span)) != nil
    }

    /// Whether no byte has its high bit set.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        var highBits: UInt64 = 0
        while offset + 8 <= bytes.count {
            highBits |= bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < bytes.count {
            highBits |= UInt64(bytes[offset])
            offset += 1
        }
        return highBits & 0x8080_8080_8080_8080 == 0
    }
}
