/// The one spelling of text that crosses a trust boundary: Unicode Normalization Form C.
///
/// Two canonically equivalent spellings, such as "é" as one scalar or as "e" + U+0301, or "K" as U+004B or as
/// KELVIN SIGN U+212A, become the same bytes, so every comparison (a token check, an in-memory table, SQL) is
/// a comparison of bytes. NFC and not NFKC: compatibility forms ("ｃａｆｅ", "ﬁ") stay distinct, as they
/// are distinct spellings to the people who type them, and no mapping here can merge two different IDs.
public enum CanonicalText {
    /// `text` in NFC.
    public static func nfc(_ text: some StringProtocol) -> String {
        let string = String(text)
        if string.utf8.allSatisfy({ $0 < 0x80 }) { return string }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count)
        string._withNFCCodeUnits { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `text` is already in NFC.
    public static func isNFC(_ text: some StringProtocol) -> Bool {
        nfc(text).utf8.elementsEqual(text.utf8)
    }

    /// Whether valid UTF-8 `bytes` are in NFC. Allocates nothing.
    @inline(__always)
    static func isNFC(utf8 bytes: UnsafeRawBufferPointer) -> Bool {
        UTF8Text.isASCII(bytes) || isNonASCIINFC(bytes)
    }

    @inline(never)
    private static func isNonASCIINFC(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var span = UTF8Span(unchecked: bytes.assumingMemoryBound(to: UInt8.self).span)
        return span.checkForNFC(quickCheck: false)
    }

    /// Writes the NFC form of valid UTF-8 `bytes` into `output` and returns how many bytes it took; nil when
    /// `output` is too small. NFC is at most three times as long as its input in UTF-8 (UAX #15, section 9).
    static func writeNFC(of bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        var count = 0
        var fits = true
        String(decoding: bytes, as: UTF8.self)._withNFCCodeUnits { byte in
            guard count < output.count else { fits = false; return }
            output[count] = byte
            count += 1
        }
        return fits ? count : nil
    }

    /// The most bytes the NFC form of `count` bytes of UTF-8 can take.
    static func maximumNFCBytes(of count: Int) -> Int { 3 * count }
}
