import Testing
@testable import PortalLinksCore

@Suite struct RevokedLinksTests {
    @Test func behavesLikeASet() {
        var generator = SystemRandomNumberGenerator()
        var reference = Set<UInt64>()
        var links = RevokedLinks()
        for _ in 0..<50_000 {
            let raw: UInt64 = generator.next() & 0xffff  // many duplicates
            let inserted = links.insert(LinkID(rawValue: raw))
            #expect(inserted == reference.insert(raw).inserted)
        }
        #expect(links.count == reference.count)
        for raw in UInt64(0)...0x1_ffff {
            #expect(links.contains(LinkID(rawValue: raw)) == reference.contains(raw))
        }
    }

    @Test func zeroIsAnOrdinaryID() {
        var links = RevokedLinks()
        #expect(!links.contains(LinkID(rawValue: 0)))
        let first = links.insert(LinkID(rawValue: 0))
        let second = links.insert(LinkID(rawValue: 0))
        #expect(first && !second)
        #expect(links.contains(LinkID(rawValue: 0)))
        #expect(links.count == 1)
    }
}
