import Testing
@testable import PortalLinksCore

@Suite struct MasterKeyTests {
    @Test func sealedMaterialOpensOnlyWithTheSameKeyAndContext() {
        let key = MasterKey.generate()
        let secret = SecureRandom.bytes(32)
        let box = key.seal(secret, context: [1, 2, 3])
        #expect(key.open(box, context: [1, 2, 3]) == secret)
        #expect(key.open(box, context: [1, 2, 4]) == nil)
        #expect(MasterKey.generate().open(box, context: [1, 2, 3]) == nil)
        for index in box.indices {
            var tampered = box
            tampered[index] ^= 0x01
            #expect(key.open(tampered, context: [1, 2, 3]) == nil)
        }
        #expect(key.open(Array(box.dropLast()), context: [1, 2, 3]) == nil)
        #expect(key.open([], context: [1, 2, 3]) == nil)
    }

    @Test func descriptionNeverShowsTheKey() {
        let key = MasterKey.generate()
        #expect(!"\(key)".contains(key.hexEncoded))
        #expect(!String(reflecting: key).contains(key.hexEncoded.prefix(8)))
    }

    @Test func onlyThirtyTwoByteKeys() {
        #expect(MasterKey(bytes: Array(repeating: 0, count: 31)) == nil)
        #expect(MasterKey(bytes: Array(repeating: 0, count: 33)) == nil)
        #expect(MasterKey(bytes: Array(repeating: 0, count: 32)) != nil)
    }
}
