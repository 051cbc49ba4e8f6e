import Foundation

/// Where emails go: an SMTP server (one connection, kept between messages) or an outbox.
public enum Mailer: Sendable {
    case smtp(SMTPConfiguration)
    case outbox(Outbox, from: String)

    public var from: String {
        switch self {
        case .smtp(let configuration): return configuration.from
        case .outbox(_, let from): return from
        }
    }

    public func start() -> MailQueue { MailQueue(self) }

    /// For the log: the server and account, or the outbox; never a password.
    public var description: String {
        switch self {
        case .smtp(let configuration): return configuration.description
        case .outbox(let outbox, _): return "the outbox \(outbox.directory)"
        }
    }
}

/// Sends one message at a time on a thread of its own (libcurl blocks), keeping the SMTP connection between
/// messages. Everything it holds is touched only on its queue.
public final class MailQueue: @unchecked Sendable {
    private let mailer: Mailer
    private let queue = DispatchQueue(label: "portal-links.mail")
    private var sender: SMTPSender?

    public init(_ mailer: Mailer) { self.mailer = mailer }

    /// Each recipient's outcome; the outbox file is named `name`.eml.
    public func deliver(_ message: MailMessage, name: String) async -> [Delivery] {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.deliverNow(message, name: name)) }
        }
    }

    private func deliverNow(_ message: MailMessage, name: String) -> [Delivery] {
        switch mailer {
        case .smtp(let configuration):
            if sender == nil { sender = SMTPSender(configuration) }
            return sender!.send(message)
        case .outbox(let outbox, _):
            do {
                let path = try outbox.write(message, name: name)
                return message.to.map { Delivery(address: $0, state: .sent, detail: "written to \(path)") }
            } catch {
                return message.to.map { Delivery(address: $0, state: .failed, detail: "\(error)") }
            }
        }
    }
}
