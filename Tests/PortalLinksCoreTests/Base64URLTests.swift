import Foundation
import Testing
@testable import PortalLinksCore

@Suite struct Base64URLTests {
    @Test func roundTripsEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
    }

    @Test func knownEncodings() {
        #expect(Base64URL.encode(Array("".utf8)) == "")
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
    }

    @Test(arguments: ["Zg==", "Zg=", "Zm9v+", "Zm/v", "Zm9 v", " Zm9v", "Zm9v\n", "Z", "Zm9vZ", "Zh", "Zm-", "é"])
    func rejectsNonStrictInput(_ text: String) {
        // "Zh" and "Zm-" carry non-zero unused bits: a second spelling of "f" and "fo" that must not decode.
        #expect(Base64URL.decode(text) == nil)
    }

    /// The vector path (16-character blocks) and the scalar tail must agree with an independent decoder.
    @Test func agreesWithFoundationOnRandomInput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...120, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let standard = Data(bytes).base64EncodedString()
            let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == url)
            #expect(Base64URL.decode(url) == bytes)
        }
    }

    /// One character outside the alphabet, at every position of a long token, inside and after the vector blocks.
    @Test func refusesABadCharacterAnywhere() {
        let valid = Base64URL.encode(Array(0..<60))  // 80 characters: five vector blocks
        let characters = Array(valid.utf8)
        for position in characters.indices {
            for bad: UInt8 in [UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: " "), 0x00, 0x7f, 0x80, 0xff,
                               UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: ".")] {
                var changed = characters
                changed[position] = bad
                let decoded = changed.withUnsafeBufferPointer { input in
                    var out = [UInt8](repeating: 0, count: 60)
                    return out.withUnsafeMutableBytes { Base64URL.decode(input, into: $0) }
                }
                #expect(decoded == nil, "byte \(bad) at \(position) was accepted")
            }
        }
    }
}
