import Foundation
import PortalLinksCore
import PortalLinksStore

/// Everything known about one pasted link, for troubleshooting.
public struct Inspection: Sendable {
    public let token: String
    /// Nil when the text is not a token at all.
    public let decoded: UnverifiedLink?
    public let verification: LinkVerification
    /// The signing key as the ring knows it.
    public let key: KeyRecord?
    public let keyState: KeyState?
    public let ledger: LedgerEntry?
    public let revocation: RevocationStatus?
    public let checkedAt: Int64
    /// What to do next, one sentence.
    public let advice: String
}

extension Installation {
    public func inspect(_ pasted: String, at time: Int64? = nil, leeway: Int64? = nil) async throws -> Inspection {
        let now = time ?? clock()
        let token = TokenInput.extract(pasted)
        let verifier = try await loadVerifier(leeway: leeway)
        let verification = verifier.verify(token, at: now)
        let decoded = UnverifiedLink(decoding: token)
        let ring = try await store.ring().ring
        let key = decoded?.keyID.flatMap { ring.key($0) }
        let keyState = key.map { ring.effectiveState(of: $0, at: now, leeway: verifier.leeway) }
        // Ledger and revocation records are looked up only for authenticated links: an ID read from an
        // unauthenticated token could point anywhere.
        var ledger: LedgerEntry?
        var revocation: RevocationStatus?
        if let linkID = verification.linkID, let claims = verification.claims {
            ledger = try await store.ledgerEntry(linkID)
            revocation = try await store.revocationStatus(of: linkID, client: claims.clientID)
        }
        return Inspection(token: token, decoded: decoded, verification: verification, key: key, keyState: keyState,
                          ledger: ledger, revocation: revocation, checkedAt: now,
                          advice: Self.advice(verification, decoded: decoded, revocation: revocation, now: now))
    }

    static func advice(_ verification: LinkVerification, decoded: UnverifiedLink?, revocation: RevocationStatus?,
                       now: Int64) -> String {
        let client = verification.claims?.clientID.description
        let reissue = client.map { "issue a new one with: portal-links issue --client \(Self.shellQuoted($0))" }
            ?? "issue a new link for this client with: portal-links issue --client CLIENT_ID"
        let key = decoded?.keyID.map(\.description) ?? "?"
        guard let reason = verification.reason else {
            return "valid; nothing to do"
        }
        switch reason {
        case .malformed:
            return "not a complete PortalLinks token: it was probably cut off or changed while being copied; ask for the whole link"
        case .unsupportedVersion:
            return "made with token version \(decoded?.version ?? 0), which this PortalLinks does not read; upgrade, or \(reissue)"
        case .unknownKey:
            return "signed by key \(key), which this ring has never held: it comes from another installation or an older copy of the ring; \(reissue)"
        case .keyDisabled:
            return "key \(key) is disabled or destroyed, so every link it signed is refused; if that was a mistake run: portal-links keys enable \(key); otherwise \(reissue)"
        case .keyExpired:
            return "key \(key) has retired and every link it signed has expired; \(reissue)"
        case .badSignature:
            return "the tag does not match: the link was altered or forged; do not trust any field shown; \(reissue)"
        case .expired:
            let ago = now - (verification.claims?.expiresAt ?? now)
            return "expired \(Self.describe(seconds: ago)) ago; \(reissue)"
        case .notYetValid:
            let ahead = (verification.claims?.issuedAt ?? now) - now
            return "issued \(Self.describe(seconds: ahead)) in the future: check the clock of the machine that issued it"
        case .linkRevoked:
            return "this link was revoked; if that was a mistake, \(reissue)"
        case .clientRevoked:
            return "links of this client issued before the revocation are refused; \(reissue)"
        case .clientDisabled:
            return "the client is disabled; to allow its links again run: portal-links clients enable \(Self.shellQuoted(client ?? "CLIENT_ID"))"
        }
    }

    /// "3 days", "5 hours", "12 minutes", "40 seconds".
    public static func describe(seconds: Int64) -> String {
        let units: [(Int64, String)] = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")]
        for (size, name) in units where seconds >= size {
            let count = seconds / size
            return "\(count) \(name)\(count == 1 ? "" : "s")"
        }
        return "0 seconds"
    }

    static func shellQuoted(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.:@".unicodeScalars.contains($0)) }
        return safe ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
