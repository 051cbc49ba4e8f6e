import PortalLinksCore

/// Something to record in the audit log: an operation and the IDs it touched. Never a token or key material.
public struct AuditEvent: Sendable, Equatable {
    public var operation: String
    public var subject: String

    public init(_ operation: String, _ subject: String) {
        self.operation = operation
        self.subject = subject
    }
}

/// One entry of the append-only audit log. Each entry's hash covers the previous entry's hash and its own
/// fields, so changing or removing an entry in the middle breaks every hash after it.
public struct AuditEntry: Sendable, Equatable {
    public var sequence: Int64
    public var at: Int64
    public var actor: String
    public var operation: String
    public var subject: String
    public var previousHash: [UInt8]
    public var hash: [UInt8]

    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    public init(sequence: Int64, at: Int64, actor: String, event: AuditEvent, previousHash: [UInt8]) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.operation = event.operation
        self.subject = event.subject
        self.previousHash = previousHash
        self.hash = Self.hash(sequence: sequence, at: at, actor: actor, operation: event.operation,
                              subject: event.subject, previousHash: previousHash)
    }

    public init(sequence: Int64, at: Int64, actor: String, operation: String, subject: String, previousHash: [UInt8], hash: [UInt8]) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.operation = operation
        self.subject = subject
        self.previousHash = previousHash
        self.hash = hash
    }

    static func hash(sequence: Int64, at: Int64, actor: String, operation: String, subject: String, previousHash: [UInt8]) -> [UInt8] {
        // Length-prefixed fields, so that no two different entries serialise alike.
        var bytes = previousHash
        for field in ["\(sequence)", "\(at)", actor, operation, subject] {
            let utf8 = Array(field.utf8)
            bytes += withUnsafeBytes(of: UInt32(utf8.count).bigEndian, Array.init)
            bytes += utf8
        }
        return SHA256.hash(bytes)
    }

    /// Checks the chain: sequence numbers without gaps from 1, each entry linked to the one before and its
    /// hash matching its fields. Returns the first entry that fails, or nil when the whole log holds.
    public static func firstBrokenEntry(in entries: [AuditEntry]) -> AuditEntry? {
        var previous = genesisHash
        for (offset, entry) in entries.enumerated() {
            let expected = hash(sequence: entry.sequence, at: entry.at, actor: entry.actor, operation: entry.operation,
                                subject: entry.subject, previousHash: entry.previousHash)
            guard entry.sequence == Int64(offset + 1), entry.previousHash == previous, entry.hash == expected else {
                return entry
            }
            previous = entry.hash
        }
        return nil
    }
}
