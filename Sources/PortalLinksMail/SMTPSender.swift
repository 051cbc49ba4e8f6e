import CSMTP
import Foundation

/// What happened to one recipient of one message.
public struct Delivery: Sendable, Equatable {
    public enum State: String, Sendable { case sent, failed }
    public var address: String
    public var state: State
    /// The server's reply (`250 2.0.0 queued as ...`), or why it failed (`550 5.1.1 no such user`, `cannot
    /// connect to ...`). Never the message, so never a token.
    public var detail: String
    /// A failure worth trying again later: a 4xx reply or no connection; a 5xx is permanent.
    public var isTemporary: Bool

    public init(address: String, state: State, detail: String, isTemporary: Bool = false) {
        self.address = address
        self.state = state
        self.detail = detail
        self.isTemporary = isTemporary
    }
}

/// Sends messages over SMTP with libcurl (STARTTLS, implicit TLS, AUTH), one recipient at a time on one
/// connection, so that each recipient's outcome is its own. Blocking: call it off any event loop.
public final class SMTPSender {
    private let configuration: SMTPConfiguration
    private var session: OpaquePointer?

    public init(_ configuration: SMTPConfiguration) {
        self.configuration = configuration
    }

    deinit { portal_smtp_close(session) }

    /// Each recipient's outcome. When the server cannot be reached, refuses the account or its certificate
    /// does not verify, that reason is every remaining recipient's, without trying each.
    public func send(_ message: MailMessage) -> [Delivery] {
        let bytes = message.rendered
        var deliveries: [Delivery] = []
        for (index, recipient) in message.to.enumerated() {
            guard MailAddress.isSendable(recipient) else {
                deliveries.append(Delivery(address: recipient, state: .failed, detail: "not an address mail can be sent to"))
                continue
            }
            let outcome = sendOne(bytes, to: recipient)
            deliveries.append(outcome.delivery)
            if outcome.wholeSession {
                for rest in message.to[(index + 1)...] {
                    deliveries.append(Delivery(address: rest, state: .failed, detail: outcome.delivery.detail, isTemporary: outcome.delivery.isTemporary))
                }
                portal_smtp_close(session)
                session = nil
                break
            }
        }
        return deliveries
    }

    private func sendOne(_ bytes: [UInt8], to recipient: String) -> (delivery: Delivery, wholeSession: Bool) {
        if session == nil { session = open() }
        guard let session else { return (Delivery(address: recipient, state: .failed, detail: "libcurl could not start", isTemporary: true), true) }
        var outcome = portal_smtp_outcome()
        bytes.withUnsafeBufferPointer { message in
            portal_smtp_send(session, configuration.from, recipient, message.baseAddress, message.count, &outcome)
        }
        let reply = withUnsafeBytes(of: outcome.reply) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if outcome.curl_code == 0 {
            return (Delivery(address: recipient, state: .sent, detail: reply), false)
        }
        let error = withUnsafeBytes(of: outcome.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let code = outcome.reply_code
        // A reply to this recipient or this message (RCPT, DATA) is this recipient's; anything before it (the
        // connection, TLS, AUTH) is the session's.
        let loginDenied = outcome.login_denied != 0
        if code >= 400, !loginDenied {
            return (Delivery(address: recipient, state: .failed, detail: reply.isEmpty ? error : reply, isTemporary: code < 500), false)
        }
        let detail = loginDenied ? "\(configuration.description) refused the account: \(reply.isEmpty ? error : reply)"
            : "\(configuration.description): \(error)"
        return (Delivery(address: recipient, state: .failed, detail: detail, isTemporary: !loginDenied), true)
    }

    private func open() -> OpaquePointer? {
        func milliseconds(_ duration: Duration) -> Int { Int(duration.components.seconds) * 1_000 + Int(duration.components.attoseconds / 1_000_000_000_000_000) }
        return configuration.url.withCString { url in
            withOptionalCString(configuration.username) { username in
                withOptionalCString(configuration.password) { password in
                    withOptionalCString(configuration.caFile) { caFile in
                        var config = portal_smtp_config(url: url, username: username, password: password, ca_file: caFile, require_tls: 1,
                                                        connect_timeout_ms: milliseconds(configuration.connectTimeout),
                                                        timeout_ms: milliseconds(configuration.messageTimeout))
                        return portal_smtp_open(&config)
                    }
                }
            }
        }
    }
}

private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
