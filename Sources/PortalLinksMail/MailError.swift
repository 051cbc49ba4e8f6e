/// One line saying what went wrong with an email, never holding a token or a password.
public struct MailError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
