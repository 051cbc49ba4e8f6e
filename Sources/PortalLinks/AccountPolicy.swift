import CPortalLinks
import Foundation
import PortalLinksCore
import PortalLinksStore

/// The account rules staff may tune: passwords, lockout and session lifetimes.
public struct AccountPolicy: Sendable {
    public var passwords: PasswordPolicy
    public var hasher: PasswordHasher
    public var lockout: LockoutPolicy
    /// A session not refreshed for this long ends.
    public var sessionIdle: Int64 = 30 * 60
    /// No session lives longer than this from its sign-in, however often it is refreshed.
    public var sessionAbsolute: Int64 = SessionVerifier.defaultAbsoluteLimit
    public var resetLifetime: Int64 = 3_600

    public init(passwords: PasswordPolicy = PasswordPolicy(common: AccountPolicy.commonPasswords),
                hasher: PasswordHasher = .standard, lockout: LockoutPolicy = LockoutPolicy()) {
        self.passwords = passwords
        self.hasher = hasher
        self.lockout = lockout
    }

    /// The common passwords built into the binary (Django's list, 8 characters or more), lower-cased: an
    /// installed portal-links needs no resource file beside it.
    public static let commonPasswords: Set<String> = Set(String(cString: portal_common_passwords()).split(separator: "\n").map(String.init))
}
