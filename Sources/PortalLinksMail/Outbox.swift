import Foundation
import PortalLinks

/// Development without SMTP: each message as an `.eml` file (mode 0600, in a directory of mode 0700) that a
/// mail client opens, never in a log, since it holds the link.
public struct Outbox: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Writes `message` as `NAME.eml` (a new name when taken) and returns its path.
    public func write(_ message: MailMessage, name: String) throws -> String {
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw MailError("the outbox \(TerminalText.field(directory)) cannot be made")
            }
        }
        let bytes = message.rendered
        for attempt in 0..<1_000 {
            let path = directory + "/" + name + (attempt == 0 ? "" : "-\(attempt)") + ".eml"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor < 0, errno == EEXIST { continue }
            guard descriptor >= 0 else { throw MailError("\(TerminalText.field(path)) cannot be written (\(String(cString: strerror(errno))))") }
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) } == bytes.count
            close(descriptor)
            guard written else { throw MailError("\(TerminalText.field(path)) cannot be written") }
            return path
        }
        throw MailError("the outbox \(TerminalText.field(directory)) has no free name for \(name)")
    }
}
