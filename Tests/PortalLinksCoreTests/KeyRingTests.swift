import PortalLinksCore
import Testing
@testable import PortalLinksCore

@Suite struct KeyRingTests {
    static let now: Int64 = 1_800_000_000
    static let sealed: [UInt8] = [1, 2, 3]

    enum Operation: String, CaseIterable, Sendable { case promote, disable, enable, destroy }

    /// A ring holding one key in `state` (plus a primary when that key is not the primary).
    static func ring(withKeyIn state: KeyState) throws -> (KeyRing, KeyID) {
        var ring = KeyRing(keys: [])
        let subject = KeyID(rawValue: 0xa)
        switch state {
        case .staged:
            try ring.rotate(newID: KeyID(rawValue: 1), sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: false)
            try ring.add(id: subject, sealedSecret: sealed, at: now)
        case .primary:
            try ring.rotate(newID: subject, sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: false)
        case .retiring, .expired:
            try ring.rotate(newID: subject, sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: false)
            try ring.rotate(newID: KeyID(rawValue: 2), sealedSecret: sealed, at: now,
                            lastSignedExpiry: state == .retiring ? now + 86_400 : now - 86_400, emergency: false)
        case .disabled:
            try ring.rotate(newID: subject, sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: false)
            try ring.rotate(newID: KeyID(rawValue: 2), sealedSecret: sealed, at: now, lastSignedExpiry: now + 86_400, emergency: true)
        case .destroyed:
            try ring.rotate(newID: subject, sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: false)
            try ring.rotate(newID: KeyID(rawValue: 2), sealedSecret: sealed, at: now, lastSignedExpiry: nil, emergency: true)
            try ring.destroy(subject, at: now)
        }
        #expect(ring.effectiveState(of: ring.key(subject)!, at: now + 3_600) == state)
        return (ring, subject)
    }

    /// Every state × operation, and what it leads to (nil: refused).
    static let table: [(KeyState, Operation, KeyState?)] = [
        (.staged, .promote, .primary), (.staged, .disable, .disabled), (.staged, .enable, nil), (.staged, .destroy, nil),
        (.primary, .promote, nil), (.primary, .disable, nil), (.primary, .enable, nil), (.primary, .destroy, nil),
        (.retiring, .promote, nil), (.retiring, .disable, .disabled), (.retiring, .enable, nil), (.retiring, .destroy, nil),
        (.expired, .promote, nil), (.expired, .disable, .disabled), (.expired, .enable, nil), (.expired, .destroy, .destroyed),
        (.disabled, .promote, nil), (.disabled, .disable, nil), (.disabled, .enable, .retiring), (.disabled, .destroy, .destroyed),
        (.destroyed, .promote, nil), (.destroyed, .disable, nil), (.destroyed, .enable, nil), (.destroyed, .destroy, nil),
    ]

    @Test(arguments: table.map { "\($0.0.rawValue) \($0.1.rawValue)" })
    func transition(_ name: String) throws {
        let (state, operation, expected) = Self.table.first { "\($0.0.rawValue) \($0.1.rawValue)" == name }!
        let (before, id) = try Self.ring(withKeyIn: state)
        var ring = before
        let later = Self.now + 3_600
        do {
            switch operation {
            case .promote: try ring.promote(id, at: later, lastSignedExpiry: nil)
            case .disable: try ring.disable(id, at: later)
            case .enable: try ring.enable(id, at: later)
            case .destroy: try ring.destroy(id, at: later)
            }
            let after = try #require(expected, "\(name) should have been refused")
            #expect(ring.effectiveState(of: ring.key(id)!, at: later) == after)
        } catch let error as PortalLinksError {
            #expect(expected == nil, "\(name) was refused: \(error.message)")
            #expect(ring == before, "a refused change must leave the ring untouched")
        }
        #expect(ring.keys.filter { $0.state == .primary }.count == 1, "exactly one primary")
        if ring.key(id)?.state == .destroyed { #expect(ring.key(id)?.sealedSecret == nil) }
    }

    @Test func rotationRetiresAndEmergencyRotationDisables() throws {
        var ring = KeyRing(keys: [])
        let first = KeyID(rawValue: 1), second = KeyID(rawValue: 2), third = KeyID(rawValue: 3)
        try ring.rotate(newID: first, sealedSecret: Self.sealed, at: Self.now, lastSignedExpiry: nil, emergency: false)
        try ring.rotate(newID: second, sealedSecret: Self.sealed, at: Self.now + 10, lastSignedExpiry: Self.now + 500, emergency: false)
        #expect(ring.key(first)?.state == .retiring)
        #expect(ring.key(first)?.verifiesUntil == Self.now + 500)
        #expect(ring.primary?.id == second)
        try ring.rotate(newID: third, sealedSecret: Self.sealed, at: Self.now + 20, lastSignedExpiry: nil, emergency: true)
        #expect(ring.key(second)?.state == .disabled)
        #expect(ring.primary?.id == third)
        // Enabling the emergency-disabled key brings it back as retiring, never as primary.
        try ring.enable(second, at: Self.now + 30)
        #expect(ring.key(second)?.state == .retiring)
        #expect(ring.keys.filter { $0.state == .primary }.count == 1)
    }

    @Test func keyIDsAreNeverReused() throws {
        var ring = KeyRing(keys: [])
        let id = KeyID(rawValue: 1)
        try ring.rotate(newID: id, sealedSecret: Self.sealed, at: Self.now, lastSignedExpiry: nil, emergency: false)
        try ring.rotate(newID: KeyID(rawValue: 2), sealedSecret: Self.sealed, at: Self.now, lastSignedExpiry: nil, emergency: true)
        try ring.destroy(id, at: Self.now)
        let before = ring
        #expect(throws: PortalLinksError.self) { try ring.add(id: id, sealedSecret: Self.sealed, at: Self.now) }
        #expect(throws: PortalLinksError.self) {
            try ring.rotate(newID: id, sealedSecret: Self.sealed, at: Self.now, lastSignedExpiry: nil, emergency: false)
        }
        #expect(ring == before)
    }

    @Test func pruneDestroysOnlyExpiredKeys() throws {
        var (ring, id) = try Self.ring(withKeyIn: .expired)
        let primary = ring.primary!.id
        let destroyed = ring.prune(at: Self.now + 3_600)
        #expect(destroyed == [id])
        #expect(ring.key(id)?.state == .destroyed)
        #expect(ring.key(id)?.sealedSecret == nil)
        #expect(ring.primary?.id == primary)
        var (retiring, retiringID) = try Self.ring(withKeyIn: .retiring)
        let none = retiring.prune(at: Self.now + 3_600)
        #expect(none.isEmpty)
        #expect(retiring.key(retiringID)?.state == .retiring)
    }
}
