/// A front-end server allowed to call the service. Its API key is stored only as a SHA-256 hash.
public struct CallerRecord: Sendable, Equatable {
    public var name: String
    public var keyHash: [UInt8]
    public var scopes: [String]
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(name: String, keyHash: [UInt8], scopes: [String], createdAt: Int64, revokedAt: Int64? = nil) {
        self.name = name
        self.keyHash = keyHash
        self.scopes = scopes
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
