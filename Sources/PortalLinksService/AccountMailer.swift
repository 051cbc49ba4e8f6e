import Foundation
import Logging
import PortalLinks
import PortalLinksCore
import PortalLinksMail
import PortalLinksStore

/// The account emails the service sends itself: the password-reset link and the welcome. Queued (bounded),
/// sent one at a time on a thread of their own so that no event loop and no answer waits for SMTP, retried
/// with growing delays on temporary failures (4xx, no connection), given up on permanent ones (5xx), each
/// outcome in the activity log, never the token.
public final class AccountMailer: Sendable {
    public struct Configuration: Sendable {
        public var mailer: Mailer
        /// The reset page, with `{token}` where the reset token goes; nil: reset tokens go to the front-end.
        public var resetURL: String?
        /// The sign-in page named in the welcome; nil: no welcome email.
        public var welcomeURL: String?
        public var reset: MailTemplate
        public var welcome: MailTemplate
        /// Whom recipients write to (default: the sender).
        public var contact: String?
        /// Waits before each retry; after the last, the message is given up.
        public var retryDelays: [Duration] = [.seconds(1), .seconds(4), .seconds(15), .seconds(60), .seconds(300)]
        /// Messages waiting at most; beyond, a request that would send one is refused (busy).
        public var maximumQueued = 1_000

        public init(mailer: Mailer, resetURL: String?, welcomeURL: String?, reset: MailTemplate, welcome: MailTemplate, contact: String?) {
            self.mailer = mailer
            self.resetURL = resetURL
            self.welcomeURL = welcomeURL
            self.reset = reset
            self.welcome = welcome
            self.contact = contact
        }

        /// `https://portal.example/reset?token={token}`: http(s), with the placeholder.
        public static func checkResetURL(_ text: String) -> Bool {
            guard text.contains("{token}"), let url = URL(string: text.replacingOccurrences(of: "{token}", with: "x")),
                  ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else { return false }
            return true
        }
    }

    struct Job: Sendable {
        let event: String
        let message: MailMessage
        let account: String
        let clientID: String?
        let caller: String
        var attempt = 0
    }

    let configuration: Configuration
    private let installation: Installation
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private let submit: AsyncStream<Job>.Continuation

    public init(_ configuration: Configuration, installation: Installation, logger: Logger) {
        self.configuration = configuration
        self.installation = installation
        self.logger = logger
        (jobs, submit) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingOldest(configuration.maximumQueued))
    }

    public var sendsResets: Bool { configuration.resetURL != nil }
    public var sendsWelcomes: Bool { configuration.welcomeURL != nil }

    /// Queues the reset email of `grant`; false when the queue is full.
    func sendReset(_ grant: PasswordResetGrant, portal: String, caller: String) -> Bool {
        guard let template = configuration.resetURL else { return false }
        let link = template.replacingOccurrences(of: "{token}", with: grant.token)
        return enqueue("account.reset_email", configuration.reset, link: link, expiresAt: grant.expiresAt, portal: portal,
                       to: grant.email, clientID: grant.clientID?.description, caller: caller)
    }

    /// Queues the welcome email of a new account.
    func sendWelcome(to email: String, clientID: String, portal: String, caller: String) -> Bool {
        guard let page = configuration.welcomeURL else { return false }
        return enqueue("account.welcome_email", configuration.welcome, link: page, expiresAt: nil, portal: portal, to: email,
                       clientID: clientID, caller: caller)
    }

    private func enqueue(_ event: String, _ template: MailTemplate, link: String, expiresAt: Int64?, portal: String, to email: String,
                         clientID: String?, caller: String) -> Bool {
        let expires = expiresAt.map { "\(TimeText.formatDay($0)) (\(TimeText.format($0)))" } ?? ""
        let filled = template.render(["company": portal, "link": link, "expires": expires,
                                      "contact": configuration.contact ?? configuration.mailer.from])
        let message = MailMessage(from: configuration.mailer.from, to: [email], subject: filled.subject, text: filled.text,
                                  html: filled.html, date: installation.clock())
        if case .enqueued = submit.yield(Job(event: event, message: message, account: email, clientID: clientID, caller: caller)) { return true }
        logger.warning("account email not queued: the queue is full", metadata: ["mail.event": "\(event)"])
        return false
    }

    /// Sends until `finish`; retries wait in tasks of their own, so that one slow message holds up no other.
    public func run() async {
        let queue = configuration.mailer.start()
        await withTaskGroup(of: Void.self) { retries in
            for await job in jobs {
                let delivery = await queue.deliver(job.message, name: "\(job.event)-\(job.message.messageID)").first
                    ?? Delivery(address: job.account, state: .failed, detail: "no recipient")
                let retryable = delivery.state == .failed && delivery.isTemporary && job.attempt < configuration.retryDelays.count
                let result = delivery.state == .sent ? "sent: \(delivery.detail)"
                    : retryable ? "retrying in \(configuration.retryDelays[job.attempt]): \(delivery.detail)"
                    : "failed: \(delivery.detail)"
                try? await installation.store.recordActivity(ActivityEntry(
                    at: installation.clock(), event: job.event, account: job.account, clientID: job.clientID, caller: job.caller,
                    result: result))
                if delivery.state == .failed {
                    logger.warning("account email not sent", metadata: ["mail.event": "\(job.event)", "mail.result": "\(result)"])
                }
                if retryable {
                    var again = job
                    again.attempt += 1
                    let delay = configuration.retryDelays[job.attempt]
                    retries.addTask { [submit] in
                        try? await Task.sleep(for: delay)
                        _ = submit.yield(again)
                    }
                }
            }
            retries.cancelAll()
        }
    }

    /// Stops taking messages; `run` returns once those queued are handled.
    public func finish() { submit.finish() }
}
