/// What a new password must be: long enough, not absurdly long, and not one of the passwords attackers try
/// first. No composition rules (they make passwords worse, not stronger) and never truncated.
public struct PasswordPolicy: Sendable {
    /// 8 by default; 15 is advised where accounts have no second factor.
    public var minimumLength: Int
    /// Long passphrases are welcome; the bound only keeps one request from hashing megabytes.
    public var maximumLength: Int
    /// Lower-cased; compared with the lower-cased password.
    public var common: Set<String>

    public static let defaultMinimumLength = 8
    public static let defaultMaximumLength = 256

    public init(minimumLength: Int = defaultMinimumLength, maximumLength: Int = defaultMaximumLength, common: Set<String> = []) {
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
        self.common = common
    }

    /// Throws an invalidInput error that says what is wrong, never echoing the password.
    public func check(_ password: String) throws(PortalLinksError) {
        // Length in characters as people count them, not bytes.
        let length = password.count
        guard length >= minimumLength else {
            throw PortalLinksError(.invalidInput, "the password is shorter than \(minimumLength) characters")
        }
        guard length <= maximumLength else {
            throw PortalLinksError(.invalidInput, "the password is longer than \(maximumLength) characters")
        }
        guard !common.contains(password.lowercased()) else {
            throw PortalLinksError(.invalidInput, "the password is on the list of commonly used passwords")
        }
    }
}
