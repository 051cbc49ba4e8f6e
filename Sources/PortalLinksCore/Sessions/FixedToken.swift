/// The byte layout shared by session and password-reset tokens: a kind byte, the signing key's ID, the
/// token's fields, then a 16-byte HMAC tag under the kind's purpose; base64url without padding. The kind
/// byte differs from a link's version byte and the purpose label differs from a link's, so no token of one
/// kind is ever accepted as another.
enum FixedToken {
    static let tagCount = 16
    static let maximumCharacters = 256

    static func sign(kind: UInt8, keyID: KeyID, fields: [UInt8], with key: HMACKey) -> String {
        var bytes = [kind]
        LinkToken.appendBigEndian(UInt64(keyID.rawValue), bytes: 4, to: &bytes)
        bytes += fields
        var tag = [UInt8](repeating: 0, count: tagCount)
        bytes.withUnsafeBytes { message in tag.withUnsafeMutableBytes { key.writeTag(for: message, into: $0) } }
        return Base64URL.encode(bytes + tag)
    }

    /// The key ID and fields of a well-formed token of `kind`, before its tag is checked; nil otherwise.
    static func open(_ token: String, kind: UInt8) -> (keyID: KeyID, message: [UInt8], tag: [UInt8])? {
        guard token.utf8.count <= maximumCharacters, let bytes = Base64URL.decode(token),
              bytes.count > 1 + 4 + tagCount, bytes[0] == kind else { return nil }
        let keyID = KeyID(rawValue: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
        return (keyID, Array(bytes.dropLast(tagCount)), Array(bytes.suffix(tagCount)))
    }
}

/// Reads big-endian fields in order, failing once anything is out of bounds.
struct FieldReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], from offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func uint64() -> UInt64? {
        guard offset + 8 <= bytes.count else { return nil }
        defer { offset += 8 }
        return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func int64() -> Int64? { uint64().map { Int64(bitPattern: $0) } }

    /// A length byte, then that many bytes of UTF-8.
    mutating func text() -> String? {
        guard offset < bytes.count else { return nil }
        let length = Int(bytes[offset])
        guard offset + 1 + length <= bytes.count else { return nil }
        defer { offset += 1 + length }
        return String(validating: bytes[(offset + 1)..<(offset + 1 + length)], as: UTF8.self)
    }
}
