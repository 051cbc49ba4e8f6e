import PortalLinksCore
import PortalLinksStore

/// What staff ask for when issuing one link.
public struct IssueRequest: Sendable {
    public var clientID: ClientID
    public var displayName: String?
    /// Unix seconds; nil for the policy's default lifetime.
    public var expiresAt: Int64?
    public var sentTo: [String]
    /// How many accounts may register through the link (1 for a personal invitation); nil for no cap.
    public var maximumAccounts: Int?
    /// The link this one replaces, kept in the ledger.
    public var replaces: LinkID?

    public init(clientID: ClientID, displayName: String? = nil, expiresAt: Int64? = nil, sentTo: [String] = [],
                maximumAccounts: Int? = nil, replaces: LinkID? = nil) {
        self.clientID = clientID
        self.replaces = replaces
        self.maximumAccounts = maximumAccounts
        self.displayName = displayName
        self.expiresAt = expiresAt
        self.sentTo = sentTo
    }
}

/// A link just issued. `token` is handed to the caller once and never stored.
public struct IssuedLink: Sendable {
    public let token: String
    public let linkID: LinkID
    public let claims: LinkClaims
    public let sentTo: [String]
    public var maximumAccounts: Int? = nil
    public var replaces: LinkID? = nil
}

extension Installation {
    /// Checks a request against the policy without issuing anything.
    public func claims(for request: IssueRequest, keyID: KeyID, at now: Int64) throws -> LinkClaims {
        let expiresAt = request.expiresAt ?? now + policy.defaultLifetime
        guard expiresAt > now else {
            throw PortalLinksError(.invalidInput, "the expiry must be in the future")
        }
        guard expiresAt - now <= policy.maximumLifetime else {
            throw PortalLinksError(.invalidInput,
                "the expiry is beyond the policy maximum of \(policy.maximumLifetime / 86_400) days")
        }
        for address in request.sentTo where !Self.isPlausibleAddress(address) {
            throw PortalLinksError(.invalidInput, "sent-to address '\(address)' is not an email address")
        }
        return try LinkClaims(keyID: keyID, issuedAt: now, expiresAt: expiresAt, clientID: request.clientID,
                              displayName: request.displayName)
    }

    /// Issues one link with the primary key and records it in the ledger.
    public func issue(_ request: IssueRequest) async throws -> IssuedLink {
        let results = try await issue([request])
        return try results[0].get()
    }

    /// Issues every acceptable request with the primary key, recording all of them in the ledger in one
    /// transaction. A refused request leaves the others unaffected; its error sits at its index.
    public func issue(_ requests: [IssueRequest]) async throws -> [Result<IssuedLink, PortalLinksError>] {
        let now = clock()
        var results: [Result<IssuedLink, PortalLinksError>] = Array(repeating: .failure(PortalLinksError(.conflict, "not issued")),
                                                                    count: requests.count)
        var pending = Array(requests.indices)
        // Two things can send links back to be signed again: a rotation between reading the primary and
        // recording (the ledger only takes links signed by the current primary), and the rare clash of two
        // links with equal fields in the same second whose random 16-bit nonces also match.
        for _ in 0..<8 where !pending.isEmpty {
            let primary = try await primaryKeyRecord()
            guard let key = try hmacKey(for: primary) else {
                throw PortalLinksError(.conflict, "the primary key \(primary.id) has no material")
            }
            for index in pending {
                results[index] = Result {
                    let claims = try claims(for: requests[index], keyID: primary.id, at: now)
                    if let maximum = requests[index].maximumAccounts, !(1...1_000_000).contains(maximum) {
                        throw PortalLinksError(.invalidInput, "the account cap must be 1 to 1000000")
                    }
                    let (token, linkID) = LinkToken.sign(claims, with: key)
                    return IssuedLink(token: token, linkID: linkID, claims: claims, sentTo: requests[index].sentTo,
                                      maximumAccounts: requests[index].maximumAccounts, replaces: requests[index].replaces)
                }.mapError { $0 as? PortalLinksError ?? PortalLinksError(.invalidInput, "\($0)") }
            }
            let signed = pending.filter { (try? results[$0].get()) != nil }
            guard !signed.isEmpty else { return results }
            let entries = signed.map { ledgerEntry(for: try! results[$0].get()) }
            let recording = try await store.recordIssued(entries, signedBy: primary.id, actor: actor, at: now)
            if recording.keyNoLongerPrimary {
                pending = signed
                continue
            }
            // Two requests of one batch can clash with each other: the store inserts in order, so of the k links
            // with one ID of which c were ignored, the first k - c are recorded and only the rest go round again.
            let ignored = Dictionary(recording.clashes.map { ($0, 1) }, uniquingKeysWith: +)
            var occurrences: [LinkID: Int] = [:]
            for index in signed { occurrences[try! results[index].get().linkID, default: 0] += 1 }
            var seen: [LinkID: Int] = [:]
            pending = signed.filter { index in
                let id = try! results[index].get().linkID
                seen[id, default: 0] += 1
                return seen[id]! > occurrences[id]! - (ignored[id] ?? 0)
            }
        }
        guard pending.isEmpty else {
            throw PortalLinksError(.conflict, "the ring kept changing while \(pending.count) links were issued; try again")
        }
        return results
    }

    func ledgerEntry(for link: IssuedLink) -> LedgerEntry {
        LedgerEntry(linkID: link.linkID, clientID: link.claims.clientID, displayName: link.claims.displayName,
                    issuedAt: link.claims.issuedAt, expiresAt: link.claims.expiresAt, keyID: link.claims.keyID,
                    sentTo: link.sentTo, issuedBy: actor, maximumAccounts: link.maximumAccounts, replaces: link.replaces)
    }

    /// A light check that catches a swapped column, not a full RFC 5322 parser.
    static func isPlausibleAddress(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && address.utf8.count <= 254
            && !address.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}
