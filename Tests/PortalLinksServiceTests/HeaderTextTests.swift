import Foundation
import Testing
@testable import PortalLinksGateway

/// Identity values in headers: ASCII only, decodable back to the same text (times: TimeText.format, InputParsingTests).
@Suite struct HeaderTextTests {
    /// Every scalar of the planes people write in (controls, bidi overrides, combining marks and surrogates'
    /// neighbours included) and some beyond: the header is visible ASCII, and decodes to the text.
    @Test func percentEncodingIsVisibleASCIIAndRoundTrips() {
        var scalars = (0x00...0x2FFF).compactMap(Unicode.Scalar.init)
        scalars += [0xD7FF, 0xE000, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF].compactMap(Unicode.Scalar.init)
        for chunk in stride(from: 0, to: scalars.count, by: 64) {
            let text = String(String.UnicodeScalarView(scalars[chunk..<min(chunk + 64, scalars.count)]))
            let encoded = HeaderText.percentEncoded(text)
            #expect(encoded.utf8.allSatisfy { (0x21...0x7E).contains($0) }, "visible ASCII only")
            #expect(encoded.removingPercentEncoding == text)
        }
        #expect(HeaderText.percentEncoded("Zoë & Co") == "Zo%C3%AB%20%26%20Co")
        #expect(HeaderText.percentEncoded("A-z_0.9~") == "A-z_0.9~")
    }
}
