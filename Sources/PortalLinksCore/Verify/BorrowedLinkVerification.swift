/// The outcome of checking one link with its claims read in place (`BorrowedLinkClaims`): what the service's
/// hot path answers from. Valid only inside the call that hands it out.
public struct BorrowedLinkVerification {
    public let reason: VerifyReason?
    /// Present once the tag has checked out, as in `LinkVerification`.
    public let claims: BorrowedLinkClaims?
    public let linkID: LinkID?

    public var isValid: Bool { reason == nil }

    /// A copy that owns its text.
    public var owned: LinkVerification { LinkVerification(reason: reason, claims: claims?.owned, linkID: linkID) }

    static func refused(_ reason: VerifyReason) -> BorrowedLinkVerification {
        BorrowedLinkVerification(reason: reason, claims: nil, linkID: nil)
    }
}

extension LinkVerification {
    /// Hands `body` this outcome in borrowed form.
    public func withBorrowed<Result>(_ body: (BorrowedLinkVerification) -> Result) -> Result {
        guard let claims else { return body(BorrowedLinkVerification(reason: reason, claims: nil, linkID: linkID)) }
        return claims.withBorrowed { body(BorrowedLinkVerification(reason: reason, claims: $0, linkID: linkID)) }
    }
}
