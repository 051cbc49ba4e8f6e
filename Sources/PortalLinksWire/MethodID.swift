/// The methods of protocol v1, by their fixed ids (Protos/portal_links/v1/wire.proto).
public struct MethodID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let healthCheck = MethodID(rawValue: 1)
    public static let authHello = MethodID(rawValue: 2)
    public static let linksVerify = MethodID(rawValue: 3)
    public static let linksIssue = MethodID(rawValue: 4)
    public static let accountsRegister = MethodID(rawValue: 5)
    public static let accountsSignIn = MethodID(rawValue: 6)
    public static let sessionsVerify = MethodID(rawValue: 7)
    public static let sessionsRefresh = MethodID(rawValue: 8)
    public static let sessionsSignOut = MethodID(rawValue: 9)
    public static let accountsRequestPasswordReset = MethodID(rawValue: 10)
    public static let accountsResetPassword = MethodID(rawValue: 11)

    public var description: String {
        switch self {
        case .healthCheck: "Health.Check"
        case .authHello: "Auth.Hello"
        case .linksVerify: "Links.Verify"
        case .linksIssue: "Links.Issue"
        case .accountsRegister: "Accounts.Register"
        case .accountsSignIn: "Accounts.SignIn"
        case .sessionsVerify: "Sessions.Verify"
        case .sessionsRefresh: "Sessions.Refresh"
        case .sessionsSignOut: "Sessions.SignOut"
        case .accountsRequestPasswordReset: "Accounts.RequestPasswordReset"
        case .accountsResetPassword: "Accounts.ResetPassword"
        default: "method \(rawValue)"
        }
    }
}
