/// The revoked and disabled clients of a `Revocations`, laid out for the hot path: looked up by the client ID
/// as it lies in a decoded token, so that a link for a text client needs no string to be checked.
///
/// Text IDs are copied into one block the table owns; its keys point into that block, and a lookup's key points
/// into the token. Lookups happen only after a link's tag has checked out.
final class ClientTable: Sendable {
    struct Entry {
        /// Links issued before this time (Unix seconds) are refused.
        var revokedBefore: Int64?
        var disabled = false
    }

    /// The bytes of a text client ID, compared and hashed by content.
    struct TextKey: Hashable {
        let bytes: UnsafeRawBufferPointer

        static func == (lhs: TextKey, rhs: TextKey) -> Bool { lhs.bytes.elementsEqual(rhs.bytes) }
        func hash(into hasher: inout Hasher) { hasher.combine(bytes: bytes) }
    }

    private let byUUID: [UUIDBytes: Entry]
    nonisolated(unsafe) private let byText: [TextKey: Entry]
    nonisolated(unsafe) private let textBlock: UnsafeMutableRawBufferPointer

    init(_ revocations: Revocations) {
        // Keyed by each client's one spelling, whatever spelling the revocations were given in; a link's client
        // reaches `entry(for:)` in that spelling too (`LinkVerifier`). Two spellings of one client merge into
        // an entry that refuses what either refused.
        var entries: [ClientID: Entry] = [:]
        for (client, before) in revocations.clientsRevokedBefore {
            let previous = entries[client.canonical, default: Entry()].revokedBefore ?? .min
            entries[client.canonical, default: Entry()].revokedBefore = max(previous, before)
        }
        for client in revocations.disabledClients { entries[client.canonical, default: Entry()].disabled = true }
        var byUUID: [UUIDBytes: Entry] = [:]
        var texts: [(String, Entry)] = []
        for (client, entry) in entries {
            switch client {
            case .uuid(let uuid): byUUID[uuid] = entry
            case .text(let text): texts.append((text, entry))
            }
        }
        self.byUUID = byUUID
        textBlock = .allocate(byteCount: max(texts.reduce(0) { $0 + $1.0.utf8.count }, 1), alignment: 1)
        var byText: [TextKey: Entry] = [:]
        var offset = 0
        for (text, entry) in texts {
            let count = text.utf8.count
            let destination = UnsafeMutableRawBufferPointer(rebasing: textBlock[offset..<(offset + count)])
            _ = destination.copyBytes(from: text.utf8)
            byText[TextKey(bytes: UnsafeRawBufferPointer(destination))] = entry
            offset += count
        }
        self.byText = byText
    }

    deinit { textBlock.deallocate() }

    var isEmpty: Bool { byUUID.isEmpty && byText.isEmpty }

    @inline(__always)
    func entry(for client: BorrowedClientID) -> Entry? {
        switch client {
        case .uuid(let uuid): byUUID[uuid]
        case .text(let bytes): byText[TextKey(bytes: bytes)]
        }
    }
}
