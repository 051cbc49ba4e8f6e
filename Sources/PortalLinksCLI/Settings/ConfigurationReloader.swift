import Configuration
import Foundation
import Logging
import PortalLinksService
import ServiceLifecycle
import UnixSignals

/// `serve`'s reloads: on SIGHUP, and when the configuration file changes, it reads the settings again (the
/// file, the process's environment, the flags it started with) and applies what can change while serving: the
/// TLS certificate and key (read again even when their paths did not change, for renewed certificates), the
/// log level, and the limits and timeouts of new connections. A bad file or certificate changes nothing and is
/// one log line; settings that need a restart are named in a warning.
actor ConfigurationReloader: Service {
    private let path: String?
    private let flags: [String: ConfigContent]
    private let environment: [String: String]
    private let server: PortalLinksServer
    private let logLevel: LogLevelControl
    private let logger: Logger
    private var applied: ServeSettings
    private var fileState: FileState?
    /// How often the file is looked at.
    private let pollInterval: Duration

    init(path: String?, flags: [String: ConfigContent], environment: [String: String], settings: ServeSettings, server: PortalLinksServer,
         logLevel: LogLevelControl, logger: Logger, pollInterval: Duration = .seconds(2)) {
        self.path = path
        self.flags = flags
        self.environment = environment
        applied = settings
        self.server = server
        self.logLevel = logLevel
        self.logger = logger
        self.pollInterval = pollInterval
        fileState = path.flatMap(FileState.init)
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await _ in hangups { await self.reload(because: "SIGHUP") }
                }
                tasks.addTask { await self.watchFile() }
            }
        }
    }

    private func watchFile() async {
        guard let path else { return }
        while (try? await Task.sleep(for: pollInterval)) != nil {
            let now = FileState(path)
            // A file being replaced may be missing for a moment: wait for it to come back.
            guard let now, now != fileState else { continue }
            fileState = now
            await reload(because: "\(path) changed")
        }
    }

    func reload(because reason: String) async {
        var logger = logger
        logger[metadataKey: "reload.reason"] = "\(reason)"
        let settings: ServeSettings
        do {
            let file = try await ConfigurationFile.load(ifGiven: path)
            do {
                settings = try ServeSettings.resolve(flags: flags, environment: environment, file: file)
            } catch {
                throw error.problems[0]
            }
            try server.reload(try settings.serverConfiguration())
        } catch {
            logger.error("reload refused, the current settings stay: \(error)")
            return
        }
        logLevel.level = Logger.Level(rawValue: settings["log.level"]!)!
        let changed = settings.reloadable(against: applied)
        let waiting = settings.needingRestart(against: applied)
        applied = settings
        let done = (settings["tls.cert_file"] == nil ? [] : ["TLS certificate and key read again"])
            + (changed.isEmpty ? [] : ["changed: " + changed.joined(separator: ", ")])
        logger.notice("reloaded\(done.isEmpty ? ", nothing changed" : ": " + done.joined(separator: "; "))")
        if !waiting.isEmpty {
            logger.warning("changed, but only a restart applies them: \(waiting.joined(separator: ", "))")
        }
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
