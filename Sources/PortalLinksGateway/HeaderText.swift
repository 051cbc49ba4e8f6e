/// How identity values travel in HTTP headers, which carry ASCII reliably and nothing else: every proxy copies
/// bytes, but some decode them as Latin-1 and some refuse them.
enum HeaderText {
    /// UTF-8, percent-encoded except RFC 3986's unreserved characters (ALPHA, DIGIT, "-", ".", "_", "~"):
    /// "Zoë & Co" is "Zo%C3%AB%20%26%20Co". Decoded by `decodeURIComponent`, `urllib.parse.unquote`,
    /// `url.PathUnescape`, `rawurldecode`. Controls and bidi overrides are encoded like everything else.
    static func percentEncoded(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
