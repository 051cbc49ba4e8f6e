import Foundation
import Logging
import Synchronization

/// For make test's scan for secrets (scripts/scan-secrets.py): with PORTAL_LINKS_CAPTURE set, what tests make
/// that is secret (API keys, links, passwords, master keys) goes to the folder's `secrets/`, and what must hold
/// none of it (logs, errors, listings) to its `output/`. Nothing happens without the variable.
public enum Capture {
    public static let folder = ProcessInfo.processInfo.environment["PORTAL_LINKS_CAPTURE"]

    /// Writes `text` to `name` inside the folder (`secrets/...` or `output/...`).
    public static func write(_ text: String, to name: String) {
        guard let folder, !text.isEmpty else { return }
        let path = "\(folder)/\(name)"
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// A secret the scan must not find anywhere in the output.
    public static func secret(_ text: String?, kind: String = "secret") {
        guard let text else { return }
        write(text.trimmingCharacters(in: .whitespacesAndNewlines), to: "secrets/\(kind)-\(UUID().uuidString)")
    }

    /// Test servers log everything down to debug, metadata included, into the folder's output: a logger
    /// there, or nil when not capturing.
    public static func logger(label: String) -> Logger? {
        guard let folder else { return nil }
        let file = CapturedLogFile(path: "\(folder)/output/server-\(UUID().uuidString).log")
        var logger = Logger(label: label) { label in CapturedLogHandler(file: file) }
        logger.logLevel = .debug
        return logger
    }
}

final class CapturedLogFile: Sendable {
    private let handle: Mutex<FileHandle?>

    init(path: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: nil)
        handle = Mutex(FileHandle(forWritingAtPath: path))
    }

    func append(_ line: String) { handle.withLock { $0?.write(Data((line + "\n").utf8)) } }
}

struct CapturedLogHandler: LogHandler {
    let file: CapturedLogFile
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        self.file.append("\(level) \(fields) \(message)")
    }
}
