/// A set of revoked link IDs: open addressing over a flat array of 64-bit IDs, about 17 bytes per link at
/// a million links, and no hashing: a link ID is a prefix of an HMAC tag, so its low bits are already
/// uniform. Lookups happen only after a link's tag has checked out, so an attacker cannot choose the IDs
/// that are looked up.
public struct RevokedLinks: Sendable, Equatable, ExpressibleByArrayLiteral {
    /// 0 marks an empty slot; the one link ID that is 0 is held apart.
    private var slots: [UInt64]
    private var containsZero = false
    public private(set) var count = 0

    public init() { slots = [UInt64](repeating: 0, count: 16) }

    public init(minimumCapacity: Int) {
        var capacity = 16
        while capacity * 3 < minimumCapacity * 4 { capacity *= 2 }
        slots = [UInt64](repeating: 0, count: capacity)
    }

    public init(arrayLiteral elements: LinkID...) {
        self.init(elements)
    }

    public init(_ elements: some Sequence<LinkID>) {
        self.init()
        for element in elements { insert(element) }
    }

    public var isEmpty: Bool { count == 0 }

    @inline(__always)
    public func contains(_ id: LinkID) -> Bool {
        let raw = id.rawValue
        if raw == 0 { return containsZero }
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: raw) & mask
            while true {
                let stored = slots[slot]
                if stored == raw { return true }
                if stored == 0 { return false }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Returns false when `id` was already present.
    @discardableResult
    public mutating func insert(_ id: LinkID) -> Bool {
        let raw = id.rawValue
        if raw == 0 {
            defer { containsZero = true }
            if containsZero { return false }
            count += 1
            return true
        }
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: raw) & mask
        while slots[slot] != 0 {
            if slots[slot] == raw { return false }
            slot = (slot + 1) & mask
        }
        slots[slot] = raw
        count += 1
        return true
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for raw in old where raw != 0 {
            var slot = Int(truncatingIfNeeded: raw) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = raw
        }
    }
}
