/// The outcome of checking one link.
///
/// `claims` and `linkID` are present once the tag has checked out, even when a later check (expiry, revocation)
/// refuses the link, so that staff can see whose link it was. They are absent for links that were never
/// authenticated: fields of an unauthenticated token are not to be trusted.
public struct LinkVerification: Sendable {
    public let reason: VerifyReason?
    public let claims: LinkClaims?
    public let linkID: LinkID?

    public var isValid: Bool { reason == nil }

    static func refused(_ reason: VerifyReason) -> LinkVerification {
        LinkVerification(reason: reason, claims: nil, linkID: nil)
    }
}
