import NIOCore
import NIOPosix
import NIOSSL
import PortalLinksMessages
import PortalLinksWire
import SwiftProtobuf

/// A client for front-end servers. One connection, authenticated with the API key, carries every call, many
/// at once; after the connection drops, the next call connects again (and a verify or health call that the
/// drop interrupted is retried once, since both are safe to repeat).
///
/// ```swift
/// let client = try PortalLinksClient(configuration: .init(host: "127.0.0.1", port: 7420, apiKey: key))
/// let result = try await client.verify(token: token)
/// if result.valid { ... result.clientID ... }
/// ```
public final class PortalLinksClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var apiKey: String?
        /// TLS to the server; add a certificate and key to it for mutual TLS.
        public var tls: TLSConfiguration?
        /// The name to check the server's certificate against; the host by default.
        public var serverHostname: String?
        public var connectTimeout: TimeAmount = .seconds(5)
        /// Sent with every call as its deadline; nil for none.
        public var callTimeout: TimeAmount?
        public var maximumPayload = FrameDecoder.defaultMaximumPayload

        public init(host: String, port: Int, apiKey: String? = nil, tls: TLSConfiguration? = nil) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.tls = tls
        }
    }

    public let configuration: Configuration
    private let connections: ConnectionManager

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        let tls = try configuration.tls.map { try NIOSSLContext(configuration: ClientTLSPolicy.applied(to: $0)) }
        connections = ConnectionManager(configuration: configuration, tls: tls, group: group)
    }

    /// Whether the server takes calls: SERVING, or NOT_SERVING while it drains before shutdown.
    public func health(service: String = "") async throws -> PortalLinks_V1_HealthCheckResponse.ServingStatus {
        var request = PortalLinks_V1_HealthCheckRequest()
        request.service = service
        let response: PortalLinks_V1_HealthCheckResponse = try await call(.healthCheck, request, idempotent: true)
        return response.status
    }

    /// Checks a link. An invalid link is a normal answer: `valid` false and its `reason`.
    public func verify(token: String) async throws -> PortalLinks_V1_VerifyResponse {
        var request = PortalLinks_V1_VerifyRequest()
        request.token = token
        return try await call(.linksVerify, request, idempotent: true)
    }

    /// Issues a link (the caller needs the issue scope).
    public func issue(_ request: PortalLinks_V1_IssueRequest) async throws -> PortalLinks_V1_IssueResponse {
        try await call(.linksIssue, request, idempotent: false)
    }

    // MARK: Accounts (scope "accounts")

    /// Signs up through a portal link. An invalid link is FAILED_PRECONDITION with the link's reason in
    /// `PortalLinksClientError.reason`; an email that has an account is ALREADY_EXISTS.
    public func register(token: String, email: String, password: String,
                         displayName: String = "") async throws -> PortalLinks_V1_Account {
        var request = PortalLinks_V1_RegisterRequest()
        request.token = token
        request.email = email
        request.password = password
        request.displayName = displayName
        let response: PortalLinks_V1_RegisterResponse = try await call(.accountsRegister, request, idempotent: false)
        return response.account
    }

    /// A session for the email and password; any refusal is UNAUTHENTICATED with one message.
    public func signIn(email: String, password: String) async throws -> PortalLinks_V1_SignInResponse {
        var request = PortalLinks_V1_SignInRequest()
        request.email = email
        request.password = password
        return try await call(.accountsSignIn, request, idempotent: false)
    }

    /// Checks a session token with no store lookup on the server: `valid`, or its `reason`.
    public func verifySession(token: String) async throws -> PortalLinks_V1_SessionVerifyResponse {
        var request = PortalLinks_V1_SessionVerifyRequest()
        request.token = token
        return try await call(.sessionsVerify, request, idempotent: true)
    }

    /// A fresh token for the same session (new idle deadline, same absolute limit).
    public func refreshSession(token: String) async throws -> PortalLinks_V1_Session {
        var request = PortalLinks_V1_RefreshRequest()
        request.token = token
        let response: PortalLinks_V1_RefreshResponse = try await call(.sessionsRefresh, request, idempotent: false)
        return response.session
    }

    /// Ends the session on every server.
    public func signOut(token: String) async throws {
        var request = PortalLinks_V1_SignOutRequest()
        request.token = token
        let _: PortalLinks_V1_SignOutResponse = try await call(.sessionsSignOut, request, idempotent: true)
    }

    /// A reset token to email to the user at the answer's `email`, the address on record, and nowhere else (not
    /// the address typed, which can differ in case or spelling); both empty for an email with no account
    /// that can be reset.
    public func requestPasswordReset(email: String) async throws -> PortalLinks_V1_PasswordResetResponse {
        var request = PortalLinks_V1_PasswordResetRequest()
        request.email = email
        return try await call(.accountsRequestPasswordReset, request, idempotent: false)
    }

    /// Sets a new password with a reset token (once); ends every session of the account.
    public func resetPassword(resetToken: String, newPassword: String) async throws {
        var request = PortalLinks_V1_ResetPasswordRequest()
        request.resetToken = resetToken
        request.newPassword = newPassword
        let _: PortalLinks_V1_ResetPasswordResponse = try await call(.accountsResetPassword, request, idempotent: false)
    }

    /// The caller name and scopes the API key stands for.
    public func hello() async throws -> PortalLinks_V1_HelloResponse {
        try await connections.connection().hello
    }

    public func close() async {
        await connections.close()
    }

    private func call<Response: SwiftProtobuf.Message>(_ method: MethodID, _ request: some SwiftProtobuf.Message,
                                                       idempotent: Bool) async throws -> Response {
        let payload: [UInt8] = try request.serializedBytes()
        let deadline = configuration.callTimeout.map { UInt32(clamping: $0.nanoseconds / 1_000_000) } ?? 0
        for attempt in 0..<2 {
            let connection = try await connections.connection()
            let frame: Frame
            do {
                frame = try await connection.connection.call(method, payload: payload, deadlineMilliseconds: deadline)
            } catch let error as PortalLinksClientError where error.code == .unavailable && !connection.connection.isActive {
                await connections.discard(connection)
                if !idempotent || attempt == 1 { throw error }
                continue
            }
            if StatusCode(rawValue: frame.header.code) == .unavailable {
                // A node shutting down answers UNAVAILABLE until it closes: new calls go to a new connection
                // (through a balancer, to another node); calls in flight on this one finish, and the server
                // closes it once they have.
                await connections.retire(connection)
            }
            return try Self.decode(frame)
        }
        throw PortalLinksClientError.unavailable("unreachable")
    }

    static func decode<Response: SwiftProtobuf.Message>(_ frame: Frame) throws -> Response {
        let bytes = Array(frame.payload.readableBytesView)
        guard StatusCode(rawValue: frame.header.code) == .ok else {
            let error = try? PortalLinks_V1_Error(serializedBytes: bytes)
            throw PortalLinksClientError(code: StatusCode(rawValue: frame.header.code), message: error?.message ?? "",
                                         reason: error?.reason ?? "")
        }
        do { return try Response(serializedBytes: bytes) } catch {
            throw PortalLinksClientError(code: .internal, message: "the server's answer is not a \(Response.protoMessageName)")
        }
    }
}

/// Opens the connection on first use, authenticates it, and opens a new one after it drops.
actor ConnectionManager {
    struct Authenticated: Sendable {
        let connection: ClientConnection
        let hello: PortalLinks_V1_HelloResponse
    }

    private let configuration: PortalLinksClient.Configuration
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private var current: Authenticated?
    private var connecting: Task<Authenticated, any Error>?

    init(configuration: PortalLinksClient.Configuration, tls: NIOSSLContext?, group: any EventLoopGroup) {
        self.configuration = configuration
        self.tls = tls
        self.group = group
    }

    func connection() async throws -> Authenticated {
        if let current, current.connection.isActive { return current }
        if let connecting { return try await connecting.value }
        let task = Task { [configuration, tls, group] in
            try await Self.open(configuration: configuration, tls: tls, group: group)
        }
        connecting = task
        defer { connecting = nil }
        do {
            let opened = try await task.value
            current = opened
            return opened
        } catch let error as PortalLinksClientError {
            throw error
        } catch {
            throw PortalLinksClientError.unavailable("cannot connect to \(configuration.host):\(configuration.port): \(PortalLinksClientError.reason(error))")
        }
    }

    /// Takes `connection` out of use for new calls without closing it.
    func retire(_ connection: Authenticated) {
        if current?.connection === connection.connection { current = nil }
    }

    func discard(_ connection: Authenticated) async {
        if current?.connection === connection.connection { current = nil }
        await connection.connection.close()
    }

    func close() async {
        if let current { await current.connection.close() }
        current = nil
    }

    private static func open(configuration: PortalLinksClient.Configuration, tls: NIOSSLContext?,
                             group: any EventLoopGroup) async throws -> Authenticated {
        let connection = try await ClientConnection.connect(
            host: configuration.host, port: configuration.port, tls: tls, serverHostname: configuration.serverHostname,
            maximumPayload: configuration.maximumPayload, connectTimeout: configuration.connectTimeout, group: group)
        guard let apiKey = configuration.apiKey else {
            return Authenticated(connection: connection, hello: PortalLinks_V1_HelloResponse())
        }
        var request = PortalLinks_V1_HelloRequest()
        request.apiKey = apiKey
        do {
            let frame = try await connection.call(.authHello, payload: try request.serializedBytes(), deadlineMilliseconds: 0)
            let hello: PortalLinks_V1_HelloResponse = try PortalLinksClient.decode(frame)
            return Authenticated(connection: connection, hello: hello)
        } catch {
            await connection.close()
            throw error
        }
    }
}
