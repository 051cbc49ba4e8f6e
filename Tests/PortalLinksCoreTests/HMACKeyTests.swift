import CPortalLinks
import Testing
@testable import PortalLinksCore

/// RFC 4231 known-answer vectors for the precomputed-pad HMAC, and the purpose label's effect.
@Suite struct HMACKeyTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let data: [UInt8]
        let mac: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "RFC 4231 case 1", key: Array(repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
               mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(name: "RFC 4231 case 2", key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(name: "RFC 4231 case 3", key: Array(repeating: 0xaa, count: 20), data: Array(repeating: 0xdd, count: 50),
               mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Vector(name: "RFC 4231 case 4", key: Array(1...25), data: Array(repeating: 0xcd, count: 50),
               mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Vector(name: "RFC 4231 case 5 (truncated to 128 bits)", key: Array(repeating: 0x0c, count: 20),
               data: Array("Test With Truncation".utf8), mac: "a3b6167473100ee06e0c796c2955552b"),
        Vector(name: "RFC 4231 case 6", key: Array(repeating: 0xaa, count: 131),
               data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Vector(name: "RFC 4231 case 7", key: Array(repeating: 0xaa, count: 131),
               data: Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
               mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    static func mac(key: [UInt8], label: [UInt8] = [], data: [UInt8]) -> [UInt8] {
        var state = pl_hmac_key()
        #expect(pl_hmac_key_init(&state, key, key.count, label, label.count) == 1)
        var out = [UInt8](repeating: 0, count: 32)
        pl_hmac_sign(&state, data, data.count, &out)
        return out
    }

    @Test(arguments: vectors)
    func knownAnswer(_ vector: Vector) {
        let expected = Hex.decode(vector.mac)!
        let full = Self.mac(key: vector.key, data: vector.data)
        #expect(Array(full.prefix(expected.count)) == expected)
    }

    @Test(arguments: vectors.filter { $0.key.count >= 16 })
    func hmacKeyMatchesVectorsWithEmptyLabel(_ vector: Vector) {
        let key = HMACKey(secret: vector.key, purpose: Purpose(label: ""))
        let expected = Hex.decode(vector.mac)!
        let code = vector.data.withUnsafeBytes { key.authenticationCode(for: $0) }
        #expect(Array(code.prefix(expected.count)) == expected)
    }

    @Test func labelIsPrefixedToTheMessage() {
        let secret = Array(repeating: UInt8(7), count: 32)
        let label = Array(Purpose.link.label.utf8)
        let message = Array("fields".utf8)
        let key = HMACKey(secret: secret, purpose: .link)
        let code = message.withUnsafeBytes { key.authenticationCode(for: $0) }
        #expect(code == Self.mac(key: secret, data: label + message))
        #expect(code != Self.mac(key: secret, data: message))
    }

    @Test func constantTimeCheckRejectsFlippedTruncatedAndExtendedTags() {
        let key = HMACKey(secret: Array(repeating: UInt8(1), count: 32), purpose: .link)
        let message = Array("message".utf8)
        let tag = Array(message.withUnsafeBytes { key.authenticationCode(for: $0) }.prefix(16))
        func check(_ candidate: [UInt8]) -> Bool {
            message.withUnsafeBytes { m in candidate.withUnsafeBytes { key.isValidTag($0, authenticating: m) } }
        }
        #expect(check(tag))
        for bit in 0..<(tag.count * 8) {
            var flipped = tag
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(!check(flipped))
        }
        #expect(!check([]))
        #expect(!check(Array(repeating: 0, count: 33)))
    }
}
