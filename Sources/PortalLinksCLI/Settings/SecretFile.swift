import ArgumentParser
import Foundation
import PortalLinks

/// A file holding a secret (a password, the master key): readable, and by its owner only, as ssh asks of its keys.
enum SecretFile {
    /// Why `path` may not hold a secret, to follow the setting that names it; nil when it may.
    static func problem(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0, FileManager.default.isReadableFile(atPath: path) else {
            return "names a file that cannot be read: \(TerminalText.field(path))"
        }
        return status.st_mode & 0o077 == 0 ? nil : "names a file others can read: chmod 600 \(TerminalText.field(path))"
    }

    /// The secret, without its trailing newline; `setting` (`--smtp-password-file`, `PORTAL_LINKS_...`) names it in
    /// the error.
    static func read(_ path: String, for setting: String) throws -> String {
        if let problem = problem(path) { throw ValidationError("\(setting) \(problem)") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(setting) names a file that cannot be read: \(TerminalText.field(path))")
        }
        return text.trimmingCharacters(in: .newlines)
    }
}
