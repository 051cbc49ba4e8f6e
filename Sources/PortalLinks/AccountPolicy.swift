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

    /// The bundled list of common passwords, lower-cased, 8 characters or more.
    public static let commonPasswords: Set<String> = {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            preconditionFailure("the bundled common-passwords.txt is missing from the build")
        }
        return Set(text.split(separator: "\n").map(String.init))
    }()
}
