import NIOCore
import PortalLinks
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// One method of protocol v1 as the server serves it. The table `ServerMethod.all` drives dispatch, scope
/// checks, metrics and the fuzz checks: a new method is its messages, one entry here and its handler.
public struct ServerMethod: Sendable {
    /// Where the call is answered.
    enum Execution: Sendable {
        /// On the event loop, by the connection itself: methods that read only memory or the connection's own
        /// state, and must not wait (Links.Verify is the hot path).
        case inline(InlineMethod)
        /// Decoded on the loop (a bad payload is INVALID_ARGUMENT at once), worked on in a task that may wait
        /// for the store or a password hash, answered back on the loop. The work takes the decoded request (of
        /// the entry's `requestType`), so that any door that decodes messages can call it.
        case offLoop(OffLoopWork)
    }

    /// The connection's own handlers (`ConnectionHandler`).
    enum InlineMethod: Sendable { case health, hello, verify, verifySession }

    typealias OffLoopWork = @Sendable (_ request: any SwiftProtobuf.Message, _ call: CallContext) async throws -> any SwiftProtobuf.Message

    public let id: MethodID
    /// The scope a caller needs; nil for the two methods a connection may call before its Hello.
    public let scope: CallerScope?
    let execution: Execution
    public let requestType: any SwiftProtobuf.Message.Type
    public let responseType: any SwiftProtobuf.Message.Type
    /// The request's fields that carry secrets (their JSON names), which no answer, log or metric may repeat.
    public let secretFields: [String]

    /// "Links.Verify": for logs and the metrics' `method` label.
    public var name: String { id.description }
}

/// What an off-loop call works with.
struct CallContext: Sendable {
    let accounts: AccountCalls
    let issuer: IssueWorker
    /// The caller's name, for the audit and activity logs.
    let caller: String
    let deadline: NIODeadline?
}

extension ServerMethod {
    public static let all: [ServerMethod] = [
        ServerMethod(id: .healthCheck, scope: nil, execution: .inline(.health),
                     requestType: PortalLinks_V1_HealthCheckRequest.self, responseType: PortalLinks_V1_HealthCheckResponse.self,
                     secretFields: []),
        ServerMethod(id: .authHello, scope: nil, execution: .inline(.hello),
                     requestType: PortalLinks_V1_HelloRequest.self, responseType: PortalLinks_V1_HelloResponse.self,
                     secretFields: ["apiKey"]),
        ServerMethod(id: .linksVerify, scope: .verify, execution: .inline(.verify),
                     requestType: PortalLinks_V1_VerifyRequest.self, responseType: PortalLinks_V1_VerifyResponse.self,
                     secretFields: ["token"]),
        offLoop(.linksIssue, scope: .issue, PortalLinks_V1_IssueRequest.self, PortalLinks_V1_IssueResponse.self) {
            try await $1.issuer.issue($0, deadline: $1.deadline, caller: $1.caller)
        },
        offLoop(.accountsRegister, PortalLinks_V1_RegisterRequest.self, PortalLinks_V1_RegisterResponse.self,
                secrets: ["token", "password"]) {
            try await $1.accounts.register($0, caller: $1.caller)
        },
        offLoop(.accountsSignIn, PortalLinks_V1_SignInRequest.self, PortalLinks_V1_SignInResponse.self, secrets: ["password"]) {
            try await $1.accounts.signIn($0, caller: $1.caller)
        },
        ServerMethod(id: .sessionsVerify, scope: .accounts, execution: .inline(.verifySession),
                     requestType: PortalLinks_V1_SessionVerifyRequest.self,
                     responseType: PortalLinks_V1_SessionVerifyResponse.self, secretFields: ["token"]),
        offLoop(.sessionsRefresh, PortalLinks_V1_RefreshRequest.self, PortalLinks_V1_RefreshResponse.self, secrets: ["token"]) {
            try await $1.accounts.refresh($0)
        },
        offLoop(.sessionsSignOut, PortalLinks_V1_SignOutRequest.self, PortalLinks_V1_SignOutResponse.self, secrets: ["token"]) {
            try await $1.accounts.signOut($0, caller: $1.caller)
        },
        offLoop(.accountsRequestPasswordReset, PortalLinks_V1_PasswordResetRequest.self, PortalLinks_V1_PasswordResetResponse.self) {
            try await $1.accounts.requestPasswordReset($0, caller: $1.caller)
        },
        offLoop(.accountsResetPassword, PortalLinks_V1_ResetPasswordRequest.self, PortalLinks_V1_ResetPasswordResponse.self,
                secrets: ["resetToken", "newPassword"]) {
            try await $1.accounts.resetPassword($0, caller: $1.caller)
        },
    ]

    /// What dispatch needs for each call, as plain values: copying one costs no reference counting on the
    /// Links.Verify path, where copying an entry (its closure, its arrays) would.
    struct Route {
        let scope: CallerScope?
        /// The connection's own handler, or nil for an off-loop method (then `all[index]`).
        let inline: InlineMethod?
        let index: Int
    }

    /// Routes by method id, so that dispatch is an index, not a search.
    private static let routes: [Route?] = {
        var table = [Route?](repeating: nil, count: Int(all.map(\.id.rawValue).max() ?? 0) + 1)
        for (index, method) in all.enumerated() {
            precondition(table[Int(method.id.rawValue)] == nil, "two entries for \(method.name)")
            let inline: InlineMethod? = if case .inline(let handler) = method.execution { handler } else { nil }
            table[Int(method.id.rawValue)] = Route(scope: method.scope, inline: inline, index: index)
        }
        return table
    }()

    static func route(id: UInt16) -> Route? {
        Int(id) < routes.count ? routes[Int(id)] : nil
    }

    /// The Connect path of a method of the services in Protos/portal_links/v1/services.proto
    /// ("/portal_links.v1.Links/Verify"); nil for Auth.Hello, which authenticates a connection and has no
    /// place in a protocol that authenticates each request.
    public var connectPath: String? {
        id == .authHello ? nil : "/portal_links.v1." + name.replacingOccurrences(of: ".", with: "/")
    }

    /// The method with this id, or nil for one the server does not serve (UNIMPLEMENTED).
    public static func method(id: UInt16) -> ServerMethod? {
        route(id: id).map { all[$0.index] }
    }

    /// An entry whose request is decoded on the loop and worked on off it by `work`.
    private static func offLoop<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ id: MethodID, scope: CallerScope = .accounts, _ request: Request.Type, _ response: Response.Type,
        secrets: [String] = [], _ work: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) -> ServerMethod {
        // Every door decodes the request as `requestType` before calling the work.
        ServerMethod(id: id, scope: scope, execution: .offLoop { request, call in try await work(request as! Request, call) },
                     requestType: request, responseType: response, secretFields: secrets)
    }
}
