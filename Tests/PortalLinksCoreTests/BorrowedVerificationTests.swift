import Testing
@testable import PortalLinksCore

/// The allocation-free path the service answers from must agree with `verify` on every outcome, and check
/// text fields read in place as strictly as strings would be.
@Suite struct BorrowedVerificationTests {
    let now = TestRing.now

    static let clients: [ClientID] = [
        TestRing.acme,
        .text("portal-links-bench"),  // past Swift's 15-byte inline strings
        .text(String(repeating: "c", count: 64)),
        .text("société-générale"),
        .uuid(UUIDBytes(high: 0x0f8f_ad5b_d9cb_469f, low: 0xa165_7086_7728_950e)),
    ]

    func borrowed(_ verifier: LinkVerifier, _ token: String) -> LinkVerification {
        verifier.borrowedVerification(token, at: now)
    }

    @Test(arguments: clients)
    func agreesWithVerifyForEveryKindOfClient(client: ClientID) throws {
        var ring = TestRing()
        let key = ring.add(9)
        for name in [nil, "Acme", "A display name longer than fifteen bytes", "Zoë Müller"] {
            let (token, linkID) = ring.token(key, client: client, name: name)
            let result = borrowed(ring.verifier(), token)
            #expect(result.isValid)
            #expect(result.linkID == linkID)
            #expect(result.claims == ring.verifier().verify(token, at: now).claims)
            #expect(result.claims?.clientID == client)
            #expect(result.claims?.displayName == name)
        }
    }

    /// Client revocations are looked up by the bytes in the token, for short, long and UUID clients alike.
    @Test(arguments: clients)
    func clientRevocationsApplyToEveryKindOfClient(client: ClientID) {
        var ring = TestRing()
        let key = ring.add(3)
        let (token, _) = ring.token(key, client: client, issuedAt: now - 100)
        let cases: [(Revocations, VerifyReason?)] = [
            (Revocations(clientsRevokedBefore: [client: now - 99]), .clientRevoked),
            (Revocations(clientsRevokedBefore: [client: now - 100]), nil),
            (Revocations(disabledClients: [client]), .clientDisabled),
            (Revocations(clientsRevokedBefore: [client: now - 100], disabledClients: [client]), .clientDisabled),
            // Another client that differs only in its last byte, or is a prefix, is not this one.
            (Revocations(clientsRevokedBefore: [Self.neighbour(of: client): now], disabledClients: [Self.neighbour(of: client)]), nil),
            (Revocations(disabledClients: [.text("c"), .text("acm"), .text("portal-links-benc")]), nil),
        ]
        for (revocations, reason) in cases {
            let verifier = ring.verifier(revocations: revocations)
            #expect(borrowed(verifier, token).reason == reason)
            #expect(verifier.verify(token, at: now).reason == reason)
        }
    }

    static func neighbour(of client: ClientID) -> ClientID {
        switch client {
        case .uuid(let uuid): .uuid(UUIDBytes(high: uuid.high, low: uuid.low ^ 1))
        case .text(let text): .text(String(text.dropLast()) + (text.last == "x" ? "y" : "x"))
        }
    }

    /// A tag vouches only for what the issuer signed; text that is not UTF-8, or a text ID spelled as a UUID,
    /// is refused as malformed even under a valid tag.
    @Test(arguments: [
        [0xff], [0xc3], [0x61, 0xc3, 0x28], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
        Array("portal-links-bench".utf8) + [0x80], Array("0f8fad5b-d9cb-469f-a165-70867728950e".utf8),
    ] as [[UInt8]])
    func signedTextThatIsNotAValidIDIsMalformed(text: [UInt8]) {
        var ring = TestRing()
        let key = ring.add(4)
        var bytes: [UInt8] = [LinkToken.version]
        bytes += [0, 0, 0, 4]  // key ID
        bytes += bigEndian(UInt32(now - 60)) + bigEndian(UInt32(now + 3_600))
        bytes += [0, 0, 1]  // flags: text client, no name; nonce
        bytes += [UInt8(text.count)] + text
        let messageCount = bytes.count
        bytes += [UInt8](repeating: 0, count: LinkToken.tagCount)
        bytes.withUnsafeMutableBytes { buffer in
            ring.signer(key).writeTag(for: UnsafeRawBufferPointer(rebasing: buffer[..<messageCount]),
                                      into: UnsafeMutableRawBufferPointer(rebasing: buffer[messageCount...]))
        }
        let token = Base64URL.encode(bytes)
        #expect(borrowed(ring.verifier(), token).reason == .malformed)
        #expect(ring.verifier().verify(token, at: now).reason == .malformed)
    }

    func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    @Test func utf8CheckAgreesWithTheStandardLibrary() {
        var samples: [[UInt8]] = [[], Array("a".utf8), Array("exactly8".utf8), Array("seventeen bytes!!".utf8),
                                  Array("Zoë".utf8), Array("日本語のテキスト".utf8), Array("🙂 emoji".utf8)]
        for length in 0...17 {
            // One non-ASCII byte at every position of every length, valid and broken sequences alike.
            for position in 0..<length {
                var bytes = [UInt8](repeating: 0x41, count: length)
                bytes[position] = 0x80
                samples.append(bytes)
                if position + 1 < length {
                    bytes[position] = 0xc3
                    bytes[position + 1] = 0xa9
                    samples.append(bytes)
                }
            }
        }
        samples += [[0xc0, 0xaf], [0xed, 0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xef, 0xbb, 0xbf]]
        for bytes in samples {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { UTF8Text.isValid($0) } == expected, "\(bytes)")
            #expect(bytes.withUnsafeBytes { UTF8Text.isASCII($0) } == bytes.allSatisfy { $0 < 0x80 }, "\(bytes)")
        }
    }
}
