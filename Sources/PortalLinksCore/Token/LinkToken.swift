/// Token format v1: the bytes of a link, before base64url.
///
/// ```
/// version(1) = 0x01 | key_id(4) | issued_at(4) | expires_at(4) | flags(1) | nonce(2)
///   | client: uuid(16)            when flags & 0x01
///   | client: length(1) text(...)  otherwise
///   | [name_length(1) name(...)]   when flags & 0x02
///   | tag(16)
/// ```
/// Integers are big-endian, times Unix seconds. The tag is HMAC-SHA256 over the purpose label and every
/// preceding byte, truncated to 128 bits. The nonce keeps two links with otherwise equal fields (the same
/// client, key and second) apart, so each has its own link ID. A UUID client with no display name is 48
/// bytes, 64 characters.
public enum LinkToken {
    public static let version: UInt8 = 0x01
    public static let tagCount = 16
    /// Longest token text accepted, checked before decoding.
    public static let maximumCharacters = 512
    /// Longest decoded token: the most any token of any future version may carry within `maximumCharacters`.
    static let maximumBytes = maximumCharacters * 3 / 4
    /// version, key ID, two times, flags and nonce.
    static let headerCount = 16
    /// The shortest well-formed v1 token: a one-byte text client and no name.
    static let minimumCount = headerCount + 2 + tagCount

    enum Flag {
        static let uuidClient: UInt8 = 0x01
        static let displayName: UInt8 = 0x02
        static let known: UInt8 = uuidClient | displayName
    }

    /// The token text and its link ID for `claims`, signed with `key`.
    public static func sign(_ claims: LinkClaims, with key: HMACKey) -> (token: String, linkID: LinkID) {
        var bytes = encodeFields(claims)
        let messageCount = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: tagCount))
        bytes.withUnsafeMutableBytes { buffer in
            key.writeTag(for: UnsafeRawBufferPointer(rebasing: buffer[..<messageCount]),
                         into: UnsafeMutableRawBufferPointer(rebasing: buffer[messageCount...]))
        }
        let linkID = bytes.withUnsafeBytes { linkIDFromTag(UnsafeRawBufferPointer(rebasing: $0[messageCount...])) }
        return (Base64URL.encode(bytes), linkID)
    }

    static func encodeFields(_ claims: LinkClaims) -> [UInt8] {
        var bytes: [UInt8] = [version]
        bytes.reserveCapacity(headerCount + 1 + 64 + 1 + 64 + tagCount)
        bytes += claims.keyID.bigEndianBytes
        appendUInt32(UInt32(claims.issuedAt), to: &bytes)
        appendUInt32(UInt32(claims.expiresAt), to: &bytes)
        var flags: UInt8 = 0
        if case .uuid = claims.clientID { flags |= Flag.uuidClient }
        if claims.displayName != nil { flags |= Flag.displayName }
        bytes.append(flags)
        bytes.append(UInt8(truncatingIfNeeded: claims.nonce >> 8))
        bytes.append(UInt8(truncatingIfNeeded: claims.nonce))
        switch claims.clientID {
        case .uuid(let uuid):
            bytes += uuid.bigEndianBytes
        case .text(let text):
            bytes.append(UInt8(text.utf8.count))
            bytes += text.utf8
        }
        if let name = claims.displayName {
            bytes.append(UInt8(name.utf8.count))
            bytes += name.utf8
        }
        return bytes
    }

    /// Appends the low `count` bytes of `value`, most significant first.
    static func appendBigEndian(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for index in (0..<count).reversed() { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8))) }
    }

    private static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    @inline(__always)
    static func linkIDFromTag(_ tag: UnsafeRawBufferPointer) -> LinkID {
        LinkID(rawValue: readUInt64(tag, at: 0))
    }

    @inline(__always)
    static func readUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    @inline(__always)
    static func readUInt64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(readUInt32(bytes, at: offset)) << 32 | UInt64(readUInt32(bytes, at: offset + 4))
    }

    /// Reads the fields after the header from an authenticated message (tag removed), text left in place. Nil
    /// when the layout is broken: unknown flags, lengths out of range, invalid UTF-8, or bytes left over.
    @inline(__always)
    static func parseFields(_ message: UnsafeRawBufferPointer) -> BorrowedLinkClaims? {
        guard message.count >= headerCount + 2 else { return nil }
        let flags = message[13]
        guard flags & ~Flag.known == 0 else { return nil }
        var offset = headerCount
        let clientID: BorrowedClientID
        if flags & Flag.uuidClient != 0 {
            guard message.count >= offset + 16 else { return nil }
            clientID = .uuid(UUIDBytes(high: readUInt64(message, at: offset), low: readUInt64(message, at: offset + 8)))
            offset += 16
        } else {
            // The issuer applied the text rules before signing; under a valid tag only the layout, the UTF-8 and
            // the one-spelling rule for UUIDs are checked again (Unicode property lookups on every verify cost more
            // than the HMAC).
            guard let text = readText(message, at: &offset), UUIDBytes(utf8: text) == nil else { return nil }
            clientID = .text(text)
        }
        var displayName: UnsafeRawBufferPointer?
        if flags & Flag.displayName != 0 {
            guard let name = readText(message, at: &offset) else { return nil }
            displayName = name
        }
        guard offset == message.count else { return nil }
        return BorrowedLinkClaims(
            keyID: KeyID(rawValue: readUInt32(message, at: 1)),
            issuedAt: Int64(readUInt32(message, at: 5)),
            expiresAt: Int64(readUInt32(message, at: 9)),
            nonce: UInt16(message[14]) << 8 | UInt16(message[15]),
            clientID: clientID,
            displayName: displayName)
    }

    /// A length-prefixed text field: its bytes, once they are known to be valid UTF-8.
    @inline(__always)
    private static func readText(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UnsafeRawBufferPointer? {
        guard offset < bytes.count else { return nil }
        let length = Int(bytes[offset])
        guard length >= 1, length <= ClientID.maximumTextBytes, offset + 1 + length <= bytes.count else { return nil }
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[(offset + 1)..<(offset + 1 + length)])
        offset += 1 + length
        return UTF8Text.isValid(utf8) ? utf8 : nil
    }
}
