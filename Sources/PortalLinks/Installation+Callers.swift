import PortalLinksCore
import PortalLinksStore

/// What a caller may do: verify links, issue links, or register, sign in and manage sessions of accounts.
public enum CallerScope: String, CaseIterable, Sendable {
    case verify, issue, accounts
}

extension Installation {
    static let apiKeyPrefix = "plk_"

    /// Adds a caller and returns its API key, which is shown this once and stored only as a hash.
    public func addCaller(named name: String, scopes: [CallerScope]) async throws -> String {
        guard !name.isEmpty, name.utf8.count <= 64,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0)) })
        else {
            throw PortalLinksError(.invalidInput, "a caller name is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard !scopes.isEmpty else { throw PortalLinksError(.invalidInput, "a caller needs at least one scope: verify, issue, accounts") }
        let key = Self.apiKeyPrefix + Base64URL.encode(SecureRandom.bytes(32))
        let ordered = CallerScope.allCases.filter(scopes.contains).map(\.rawValue)
        try await store.addCaller(CallerRecord(name: name, keyHash: Self.apiKeyHash(key), scopes: ordered, createdAt: clock()),
                                  actor: actor, at: clock())
        return key
    }

    public func callers() async throws -> [CallerRecord] { try await store.callers() }

    @discardableResult
    public func revokeCaller(named name: String) async throws -> Bool {
        try await store.revokeCaller(named: name, actor: actor, at: clock())
    }

    /// API keys carry 256 random bits, so a plain SHA-256 is as good as a slow password hash here, and
    /// cheap enough to check on every Hello.
    public static func apiKeyHash(_ key: String) -> [UInt8] { SHA256.hash(Array(key.utf8)) }
}
