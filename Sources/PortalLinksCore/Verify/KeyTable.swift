import CPortalLinks

/// The verifying half of a key-ring snapshot, laid out for the hot path: an open-addressing table from key ID
/// to slot, and every key's precomputed HMAC state in one block. A lookup hashes with one multiply and
/// touches no reference counts.
///
/// Key IDs come from untrusted tokens, but the table only holds the ring's own random IDs, so a chosen ID can
/// at worst walk the longest run of occupied slots, which stays short at a load of at most one half.
final class KeyTable: Sendable {
    private static let emptySlot: Int32 = -1

    let count: Int
    private let mask: Int
    nonisolated(unsafe) private let slotIDs: UnsafeMutableBufferPointer<UInt32>
    nonisolated(unsafe) private let slotEntries: UnsafeMutableBufferPointer<Int32>
    /// The state each key is in, as far as verifying goes: a key in a verifying state whose material is
    /// missing is entered as disabled, so that no tag is ever checked against an empty HMAC state.
    nonisolated(unsafe) let states: UnsafeMutableBufferPointer<KeyState>
    /// For retiring keys; `Int64.max` for keys that have no such limit.
    nonisolated(unsafe) let verifiesUntil: UnsafeMutableBufferPointer<Int64>
    nonisolated(unsafe) private let hmacStates: UnsafeMutablePointer<pl_hmac_key>

    init(_ keys: [KeyID: LinkVerifier.Key]) {
        count = keys.count
        var capacity = 8
        while capacity < keys.count * 2 { capacity *= 2 }
        mask = capacity - 1
        slotIDs = .allocate(capacity: capacity)
        slotIDs.initialize(repeating: 0)
        slotEntries = .allocate(capacity: capacity)
        slotEntries.initialize(repeating: Self.emptySlot)
        hmacStates = .allocate(capacity: max(keys.count, 1))
        states = .allocate(capacity: max(keys.count, 1))
        verifiesUntil = .allocate(capacity: max(keys.count, 1))
        for (entry, (id, key)) in keys.enumerated() {
            states.initializeElement(at: entry, to: key.state.verifies && key.hmac == nil ? .disabled : key.state)
            verifiesUntil.initializeElement(at: entry, to: key.verifiesUntil ?? .max)
            if let hmac = key.hmac {
                hmac.copyState(to: hmacStates + entry)
            } else {
                pl_hmac_key_clear(hmacStates + entry)
            }
            var slot = Self.slot(for: id.rawValue, mask: mask)
            while slotEntries[slot] != Self.emptySlot { slot = (slot + 1) & mask }
            slotIDs[slot] = id.rawValue
            slotEntries[slot] = Int32(entry)
        }
    }

    deinit {
        for entry in 0..<count { pl_hmac_key_clear(hmacStates + entry) }
        hmacStates.deallocate()
        states.deallocate()
        verifiesUntil.deallocate()
        slotIDs.deallocate()
        slotEntries.deallocate()
    }

    @inline(__always)
    private static func slot(for id: UInt32, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The entry index of `id`, or nil when the ring has no such key.
    @inline(__always)
    func entry(for id: KeyID) -> Int? {
        var slot = Self.slot(for: id.rawValue, mask: mask)
        while true {
            let entry = slotEntries[slot]
            if entry == Self.emptySlot { return nil }
            if slotIDs[slot] == id.rawValue { return Int(entry) }
            slot = (slot + 1) & mask
        }
    }

    /// Checks `tag` against the entry's key. Only call for entries whose state verifies.
    @inline(__always)
    func isValidTag(_ tag: UnsafeRawBufferPointer, authenticating message: UnsafeRawBufferPointer, entry: Int) -> Bool {
        pl_hmac_verify(hmacStates + entry, message.baseAddress, message.count,
                       tag.baseAddress?.assumingMemoryBound(to: UInt8.self), tag.count) == 1
    }
}
