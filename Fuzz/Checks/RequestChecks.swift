import Foundation
import Logging
import PortalLinks
import PortalLinksMessages
import PortalLinksSQLite
import PortalLinksService
import PortalLinksTesting
import PortalLinksWire
import SwiftProtobuf

/// Every request handler of a live server (in this process, over loopback, on a fresh SQLite home) fed
/// arbitrary payloads. Byte 0 of an input picks the method (ids 0 to 12: every method, and unknown ids on
/// both sides), the rest is the payload, sent on an authenticated connection. Each call must get exactly one
/// answer, with its call id, within the time limit; never INTERNAL; an OK answer carries the method's
/// response message, any other an Error whose message repeats no token or password of the request; an
/// unknown method gets UNIMPLEMENTED; and the connection stays open until the server has refused as many Hellos
/// as its limit of failed Hellos (malformed and throttled ones do not count).
///
/// So that mutations reach the code past the checks of signatures and accounts, a request whose token,
/// email, password or API key is one of the placeholders `$LINK`, `$SESSION`, `$RESET`, `$EMAIL`,
/// `$PASSWORD`, `$APIKEY` gets the live value in its place (Fuzz/Corpus/requests holds such seeds).
public final class RequestChecks: @unchecked Sendable {
    let server: InProcessServer
    let port: Int
    let apiKey: String
    private var connection: BlockingConnection?
    /// Hellos the server counted as failed on this connection; it closes the connection at the limit.
    private var failedHellosHere = 0
    private let maximumFailedHellos = ServerConfiguration().maximumFailedHellos
    private var nextCallID: UInt32 = 0
    private var link = ""
    private var session = ""
    private var reset = ""
    private let email = "fuzz@example.com"
    private var password = "fuzzing-password-1"
    /// The last calls made (method, call id, status), for a finding's message.
    private var history: [String] = []

    /// Starts the server; `prepare` then makes the link, account, session and reset the placeholders stand for.
    public static func start() async throws -> RequestChecks {
        let home = InProcessServer.temporaryHome("fuzz")
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], actor: "fuzz")
        let apiKey = try await installation.addCaller(named: "fuzz", scopes: CallerScope.allCases)
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        var configuration = ServerConfiguration()
        configuration.baseURL = "https://portal.example.com/join"
        // At the default idle priority, password hashes wait for any other work on the machine, for longer
        // than a call's time limit when the machine is busy.
        configuration.hashPriority = .normal
        let server = try await InProcessServer.start(installation: installation, home: home, configuration: configuration,
                                                     reloadInterval: .milliseconds(250), logger: logger)
        return RequestChecks(server: server, apiKey: apiKey)
    }

    private init(server: InProcessServer, apiKey: String) {
        self.server = server
        port = server.port
        self.apiKey = apiKey
    }

    public func stop() async {
        connection = nil
        await server.stop()
    }

    /// Issues the link, registers the account, signs in and asks for a reset, over the wire. Blocking.
    public func prepare() throws {
        var issue = PortalLinks_V1_IssueRequest()
        issue.clientID = "fuzz-client"
        issue.displayName = "Fuzz Ltd"
        link = try PortalLinks_V1_IssueResponse(serializedBytes: call(.linksIssue, issue)).token
        var register = PortalLinks_V1_RegisterRequest()
        (register.token, register.email, register.password) = (link, email, password)
        _ = try call(.accountsRegister, register)
        try renewSession()
        try renewReset()
    }

    public func check(_ input: UnsafeRawBufferPointer) throws(FuzzFinding) {
        guard let selector = input.first else { return }
        // Every served id, and an unknown one on each side (0 and one past the last).
        let method = MethodID(rawValue: UInt16(selector) % UInt16(ServerMethod.all.count + 2))
        let payload = withLiveValues(method, Array(input.dropFirst()))
        let answer: (header: FrameHeader, payload: [UInt8])
        let callID: UInt32
        do {
            let connection = try connected()
            nextCallID &+= 1
            callID = nextCallID
            try connection.send(method: method.rawValue, callID: callID, payload: payload)
            answer = try connection.receive()
        } catch {
            throw FuzzFinding("\(method) with a payload of \(payload.count) bytes: \(error) instead of an answer; last calls: \(history)")
        }
        let status = StatusCode(rawValue: answer.header.code)
        try expect(answer.header.version == FrameHeader.responseVersion && answer.header.flags == 0
                   && answer.header.deadlineMilliseconds == 0, "\(method): a malformed answer header")
        history = (history + ["\(method) #\(callID) -> \(StatusCode(rawValue: answer.header.code)) #\(answer.header.callID)"]).suffix(24)
        try expect(answer.header.callID == callID, "\(method): answer for call \(answer.header.callID), sent \(callID); last calls: \(history)")
        try expect(status != .internal && status.rawValue != 2 && status.rawValue != 15, "\(method) answered \(status)")
        if (1...11).contains(method.rawValue) {
            try expect(status != .unimplemented, "\(method) answered UNIMPLEMENTED")
        } else {
            try expect(status == .unimplemented, "unknown \(method) answered \(status)")
        }
        if status == .ok {
            try expect(Self.decodesAsResponse(method, answer.payload), "\(method): an OK answer whose payload is not its response message")
        } else {
            guard let error = try? PortalLinks_V1_Error(serializedBytes: answer.payload), !error.message.isEmpty else {
                throw FuzzFinding("\(method) answered \(status) without an Error message")
            }
            for secret in Self.secrets(in: method, payload) where error.message.contains(secret) {
                throw FuzzFinding("\(method) answered \(status) with an error message that repeats a secret of the request")
            }
        }
        try followUp(method, payload: payload, status: status, answer: answer.payload)
    }

    // MARK: Connections and calls

    /// The authenticated connection, opened (again) when needed.
    private func connected() throws -> BlockingConnection {
        if let connection { return connection }
        let fresh = try BlockingConnection(port: port)
        var hello = PortalLinks_V1_HelloRequest()
        hello.apiKey = apiKey
        nextCallID &+= 1
        try fresh.send(method: MethodID.authHello.rawValue, callID: nextCallID, payload: try hello.serializedBytes())
        let answer = try fresh.receive()
        guard answer.header.code == StatusCode.ok.rawValue else { throw FuzzFinding("the fuzz caller's Hello was refused") }
        connection = fresh
        failedHellosHere = 0
        return fresh
    }

    private func call(_ method: MethodID, _ request: some SwiftProtobuf.Message) throws -> [UInt8] {
        let connection = try connected()
        nextCallID &+= 1
        try connection.send(method: method.rawValue, callID: nextCallID, payload: try request.serializedBytes())
        let answer = try connection.receive()
        history = (history + ["(follow-up) \(method) #\(nextCallID) -> \(StatusCode(rawValue: answer.header.code)) #\(answer.header.callID)"]).suffix(24)
        guard answer.header.callID == nextCallID else { throw FuzzFinding("\(method): answer for call \(answer.header.callID), sent \(nextCallID)") }
        guard answer.header.code == StatusCode.ok.rawValue else {
            let message = (try? PortalLinks_V1_Error(serializedBytes: answer.payload))?.message ?? ""
            throw Refused(description: "\(method) answered \(StatusCode(rawValue: answer.header.code)): \(message)")
        }
        return answer.payload
    }

    private func renewSession() throws {
        var signIn = PortalLinks_V1_SignInRequest()
        (signIn.email, signIn.password) = (email, password)
        session = try PortalLinks_V1_SignInResponse(serializedBytes: call(.accountsSignIn, signIn)).session.token
    }

    private func renewReset() throws {
        var request = PortalLinks_V1_PasswordResetRequest()
        request.email = email
        reset = try PortalLinks_V1_PasswordResetResponse(serializedBytes: call(.accountsRequestPasswordReset, request)).resetToken
    }

    /// Keeps the placeholders' values live: failed Hellos at the limit close the connection, a sign-out ended the
    /// session, a reset used the reset token and changed the password. A follow-up call that fails (the
    /// account locked by earlier inputs, say) leaves the placeholder stale; one that gets no answer drops the
    /// connection, so that its answer cannot arrive in place of a later call's.
    private func followUp(_ method: MethodID, payload: [UInt8], status: StatusCode, answer: [UInt8]) throws(FuzzFinding) {
        do {
            switch method {
            case .authHello where status == .unauthenticated:
                // Counted by the server: the connection stays until the limit (an earlier Hello stays in force).
                failedHellosHere += 1
                if failedHellosHere >= maximumFailedHellos { connection = nil }
            case .sessionsSignOut where status == .ok:
                try renewSession()
            case .accountsResetPassword where status == .ok:
                if let request = try? PortalLinks_V1_ResetPasswordRequest(serializedBytes: payload), request.resetToken == reset {
                    password = request.newPassword
                    try renewSession()
                    try renewReset()
                }
            default:
                break
            }
        } catch let finding as FuzzFinding {
            throw finding
        } catch is Refused {
            // The placeholder stays stale until a later follow-up succeeds.
        } catch {
            connection = nil
        }
    }

    /// A follow-up call the server refused.
    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: Placeholders, responses and secrets

    private func withLiveValues(_ method: MethodID, _ payload: [UInt8]) -> [UInt8] {
        func live(_ text: String) -> String {
            switch text {
            case "$LINK": link
            case "$SESSION": session
            case "$RESET": reset
            case "$EMAIL": email
            case "$PASSWORD": password
            case "$APIKEY": apiKey
            default: text
            }
        }
        // Placeholders stand in any string field of the method's request: swapped through its JSON form.
        guard let served = ServerMethod.method(id: method.rawValue),
              let message = try? served.requestType.init(serializedBytes: payload),
              var json = try? message.jsonString(), json.contains("\"$")
        else { return payload }
        for placeholder in ["$LINK", "$SESSION", "$RESET", "$EMAIL", "$PASSWORD", "$APIKEY"] {
            guard let quoted = try? JSONEncoder().encode(live(placeholder)) else { continue }
            json = json.replacingOccurrences(of: "\"\(placeholder)\"", with: String(decoding: quoted, as: UTF8.self))
        }
        guard let edited = try? served.requestType.init(jsonString: json), let bytes: [UInt8] = try? edited.serializedBytes()
        else { return payload }
        return bytes
    }

    static func decodesAsResponse(_ method: MethodID, _ payload: [UInt8]) -> Bool {
        guard let served = ServerMethod.method(id: method.rawValue) else { return false }
        return (try? served.responseType.init(serializedBytes: payload)) != nil
    }

    /// Tokens, passwords and API keys of a request, long enough that finding one in a message is no accident.
    static func secrets(in method: MethodID, _ payload: [UInt8]) -> [String] {
        guard let served = ServerMethod.method(id: method.rawValue), !served.secretFields.isEmpty,
              let message = try? served.requestType.init(serializedBytes: payload),
              let json = try? message.jsonString(),
              let fields = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        else { return [] }
        return served.secretFields.compactMap { fields[$0] as? String }.filter { $0.count >= 8 }
    }
}

extension RequestChecks {
    /// `start` and `prepare` for a fuzz target's synchronous entry point: waits on this thread.
    public static func startAndPrepare() -> RequestChecks {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var started: Result<RequestChecks, any Error>?
        Task {
            do { started = .success(try await start()) } catch { started = .failure(error) }
            done.signal()
        }
        done.wait()
        do {
            let checks = try started!.get()
            try checks.prepare()
            return checks
        } catch {
            fatalError("the server to fuzz did not start: \(error)")
        }
    }
}
