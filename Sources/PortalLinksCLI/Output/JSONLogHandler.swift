import Foundation
import Logging

/// One JSON object per line on stderr: time, level, message, label and metadata.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, Any?)] = [
            ("time", ISO8601DateFormatter().string(from: Date())), ("level", event.level.rawValue),
            ("message", event.message.description), ("label", label),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        FileHandle.standardError.write(Data((JSONText.object(fields) + "\n").utf8))
    }
}
