import Configuration
import Foundation
import Logging
import PortalLinksService
import ServiceLifecycle
import UnixSignals

/// `serve`'s reloads: on SIGHUP, and when the configuration file has changed (and stayed the same for one more
/// look), it reads the settings again (the file, the process's environment, the flags it started with) and
/// applies what can change while serving: the TLS certificate and key (read again even when their paths did not
/// change, for renewed certificates), the log level, and the limits and timeouts of new connections. A bad file,
/// value or certificate in those changes nothing and is one log line; settings only a restart applies are named
/// in a warning, also when they have problems. Reloads run one at a time, in the order asked.
actor ConfigurationReloader: Service {
    private let path: String?
    private let flags: [String: ConfigContent]
    private let environment: [String: String]
    private let server: PortalLinksServer
    private let logLevel: LogLevelControl
    private let logger: Logger
    private let hangups: UnixSignalsSequence
    /// What serve started with: what settings that need a restart are compared with.
    private let started: ServeSettings
    /// What the last reload applied.
    private var applied: ServeSettings
    private let pollInterval: Duration

    /// `hangups` is made before the store is opened, so that a SIGHUP during the start is a reload, not death.
    init(path: String?, flags: [String: ConfigContent], environment: [String: String], settings: ServeSettings, server: PortalLinksServer,
         logLevel: LogLevelControl, hangups: UnixSignalsSequence, logger: Logger, pollInterval: Duration = .seconds(2)) {
        self.path = path
        self.flags = flags
        self.environment = environment
        started = settings
        applied = settings
        self.server = server
        self.logLevel = logLevel
        self.hangups = hangups
        self.logger = logger
        self.pollInterval = pollInterval
    }

    func run() async throws {
        let (reasons, asked) = AsyncStream<String>.makeStream()
        let hangups = hangups
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await _ in hangups { asked.yield("SIGHUP") }
                }
                if let path = self.path {
                    tasks.addTask { await Self.watch(path, every: self.pollInterval) { asked.yield("\(path) changed") } }
                }
                for await reason in reasons { await self.reload(because: reason) }
                tasks.cancelAll()
            }
        }
    }

    /// Calls `changed` each time the file at `path` differs from what was last seen and has stayed the same for
    /// one more interval (a file being written, or briefly missing while replaced, is waited for).
    private static func watch(_ path: String, every interval: Duration, changed: () -> Void) async {
        var seen = FileState(path)
        var candidate: FileState?
        while (try? await Task.sleep(for: interval)) != nil {
            let now = FileState(path)
            guard let now, now != seen else { candidate = nil; continue }
            if now == candidate {
                seen = now
                candidate = nil
                changed()
            } else {
                candidate = now
            }
        }
    }

    func reload(because reason: String) async {
        var logger = logger
        logger[metadataKey: "reload.reason"] = "\(reason)"
        func refuse(_ why: String) { logger.error("reload refused, the current settings stay: \(why)") }
        let file: ConfigurationFile?
        do {
            file = try ConfigurationFile.load(ifGiven: path)
        } catch {
            return refuse("\(error)")
        }
        if let file, file.isEmpty { return refuse("\(file.path) holds no settings") }
        let (settings, problems) = ServeSettings.read(flags: flags, environment: environment, file: file)
        // Problems in what a reload applies, and keys that are not settings, refuse it; problems in settings only
        // a restart applies are reported, and the rest applies.
        let (blocking, later) = (problems.filter { !Self.onlyForRestart($0) }, problems.filter(Self.onlyForRestart))
        if let first = blocking.first { return refuse("\(first)") }
        do {
            let configuration = try settings.reloadableConfiguration()
            try settings.namingTLSFiles { try server.reload(configuration) }
        } catch {
            return refuse("\(error)")
        }
        logLevel.level = Logger.Level(rawValue: settings["log.level"]!)!
        let changed = settings.reloadable(against: applied)
        applied = settings
        let done = (settings["tls.cert_file"] == nil ? [] : ["TLS certificate and key read again"])
            + (changed.isEmpty ? [] : ["changed: " + changed.joined(separator: ", ")])
        logger.notice("reloaded\(done.isEmpty ? ", nothing changed" : ": " + done.joined(separator: "; "))")
        let waiting = settings.needingRestart(against: started)
        if !waiting.isEmpty {
            logger.warning("changed, but only a restart applies them: \(waiting.joined(separator: ", "))")
        }
        if !later.isEmpty {
            logger.warning("a restart would fail: \(later.map(\.description).joined(separator: "; "))")
        }
    }

    private static func onlyForRestart(_ problem: SettingProblem) -> Bool {
        problem.key.flatMap { ServeSetting.byKey[$0] }.map { !$0.reloads } ?? false
    }
}

/// What tells a changed file apart: another file moved in its place, or a new modification time or size.
private struct FileState: Equatable {
    let inode: UInt
    let modified: Int
    let modifiedNanoseconds: Int
    let size: Int

    init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        inode = UInt(status.st_ino)
        modified = status.st_mtim.tv_sec
        modifiedNanoseconds = status.st_mtim.tv_nsec
        size = Int(status.st_size)
    }
}
