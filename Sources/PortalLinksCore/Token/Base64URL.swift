import CPortalLinks

/// Base64url without padding (RFC 4648 §5), strict: every character from the alphabet, no padding, no
/// whitespace, and unused low bits of the last character zero, so each byte string has exactly one spelling.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    // The decoding tables live in memory allocated once and never freed, so that reading them costs no
    // reference counting on the verify path.
    nonisolated(unsafe) private static let reverse: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        table.initialize(repeating: 0xff, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return UnsafePointer(table)
    }()

    /// Four tables of 256 entries, one per position in a group of four characters, each holding the
    /// character's six bits already shifted into place, or `invalid` for characters outside the alphabet.
    /// A group then decodes with four loads, three ORs and one check.
    private static let invalid: UInt32 = 0xff00_0000
    nonisolated(unsafe) private static let groupTables: UnsafePointer<UInt32> = {
        let tables = UnsafeMutablePointer<UInt32>.allocate(capacity: 4 * 256)
        tables.initialize(repeating: invalid, count: 4 * 256)
        for (index, character) in alphabet.enumerated() {
            for position in 0..<4 { tables[position * 256 + Int(character)] = UInt32(index) << (18 - 6 * position) }
        }
        return UnsafePointer(tables)
    }()

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let outputCount = (bytes.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: outputCount) { out in
            var o = 0
            var i = 0
            while i + 3 <= bytes.count {
                let chunk = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out[o] = alphabet[Int(chunk >> 18)]
                out[o + 1] = alphabet[Int(chunk >> 12 & 0x3f)]
                out[o + 2] = alphabet[Int(chunk >> 6 & 0x3f)]
                out[o + 3] = alphabet[Int(chunk & 0x3f)]
                o += 4
                i += 3
            }
            let rest = bytes.count - i
            if rest == 1 {
                let chunk = UInt32(bytes[i]) << 16
                out[o] = alphabet[Int(chunk >> 18)]
                out[o + 1] = alphabet[Int(chunk >> 12 & 0x3f)]
                o += 2
            } else if rest == 2 {
                let chunk = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                out[o] = alphabet[Int(chunk >> 18)]
                out[o + 1] = alphabet[Int(chunk >> 12 & 0x3f)]
                out[o + 2] = alphabet[Int(chunk >> 6 & 0x3f)]
                o += 3
            }
            return o
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// The number of bytes `characterCount` characters decode to, or nil when no strict encoding has that length.
    public static func decodedCount(ofCharacterCount characterCount: Int) -> Int? {
        characterCount % 4 == 1 ? nil : characterCount * 3 / 4
    }

    /// Decodes `text` into `output`, which must hold `decodedCount(ofCharacterCount: text.count)` bytes.
    /// Returns the number of bytes written, or nil when `text` is not strict base64url.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let count = decodedCount(ofCharacterCount: text.count), output.count >= count else { return nil }
        // Whole 16-character blocks go through the vector decoder where the CPU has one; the rest here.
        var vectorValid: Int32 = 1
        var i = pl_base64url_decode_blocks(text.baseAddress, text.count,
                                           output.baseAddress?.assumingMemoryBound(to: UInt8.self), &vectorValid)
        guard vectorValid == 1 else { return nil }
        var o = i / 4 * 3
        let tables = groupTables
        let groups = (text.count - i) / 4
        var bad: UInt32 = 0
        for _ in 0..<groups {
            let chunk = tables[Int(text[i])] | tables[256 &+ Int(text[i &+ 1])]
                | tables[512 &+ Int(text[i &+ 2])] | tables[768 &+ Int(text[i &+ 3])]
            bad |= chunk
            output[o] = UInt8(truncatingIfNeeded: chunk >> 16)
            output[o &+ 1] = UInt8(truncatingIfNeeded: chunk >> 8)
            output[o &+ 2] = UInt8(truncatingIfNeeded: chunk)
            i = i &+ 4
            o = o &+ 3
        }
        guard bad & invalid == 0 else { return nil }

        // The last two or three characters carry one or two bytes; their unused low bits must be zero.
        let reverse = Self.reverse
        switch text.count - i {
        case 0:
            break
        case 2:
            let a = reverse[Int(text[i])], b = reverse[Int(text[i + 1])]
            guard (a | b) & 0xc0 == 0, b & 0x0f == 0 else { return nil }
            output[o] = a << 2 | b >> 4
            o += 1
        case 3:
            let a = reverse[Int(text[i])], b = reverse[Int(text[i + 1])], c = reverse[Int(text[i + 2])]
            guard (a | b | c) & 0xc0 == 0, c & 0x03 == 0 else { return nil }
            output[o] = a << 2 | b >> 4
            output[o + 1] = b << 4 | c >> 2
            o += 2
        default:
            return nil
        }
        return o
    }

    /// Convenience for tests and tools: the decoded bytes, or nil.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard let count = decodedCount(ofCharacterCount: utf8.count) else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        let written = utf8.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBytes { decode(input, into: $0) }
        }
        return written.map { Array(out.prefix($0)) }
    }
}
