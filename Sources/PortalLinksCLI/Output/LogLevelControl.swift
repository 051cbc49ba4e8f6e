import Logging
import Synchronization

/// The level every log handler of `serve` reads, so that a reload changes it for loggers already made.
final class LogLevelControl: Sendable {
    private static let levels = Logger.Level.allCases
    private let index: Atomic<Int>

    init(_ level: Logger.Level) { index = Atomic(Self.levels.firstIndex(of: level)!) }

    var level: Logger.Level {
        get { Self.levels[index.load(ordering: .relaxed)] }
        set { index.store(Self.levels.firstIndex(of: newValue)!, ordering: .relaxed) }
    }

    /// `base`, with its level taken from this control.
    func handler(_ base: any LogHandler) -> any LogHandler { ControlledLogHandler(base: base, control: self) }
}

private struct ControlledLogHandler: LogHandler {
    var base: any LogHandler
    let control: LogLevelControl

    var logLevel: Logger.Level {
        get { control.level }
        set {}  // the control decides
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    // Logger has compared the event's level with `logLevel` already.
    func log(event: LogEvent) { base.log(event: event) }
}
