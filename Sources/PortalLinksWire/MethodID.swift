/// The methods of protocol v1, by their fixed ids (Protos/portal_links/v1/wire.proto).
public struct MethodID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let healthCheck = MethodID(rawValue: 1)
    public static let authHello = MethodID(rawValue: 2)
    public static let linksVerify = MethodID(rawValue: 3)
    public static let linksIssue = MethodID(rawValue: 4)

    public var description: String {
        switch self {
        case .healthCheck: "Health.Check"
        case .authHello: "Auth.Hello"
        case .linksVerify: "Links.Verify"
        case .linksIssue: "Links.Issue"
        default: "method \(rawValue)"
        }
    }
}
