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
}
