import Foundation
import ServiceLifecycle

/// systemd's notify protocol (sd_notify(3)): one datagram per state change to the socket in `$NOTIFY_SOCKET`,
/// a path or, with a leading `@`, an abstract name. Without the variable there is no one to tell.
public struct SystemdNotifier: Sendable {
    let socketPath: String

    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < 108 else { return nil }
        socketPath = path
    }

    /// Sends `state` (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, ...); false when it could not be delivered.
    @discardableResult
    public func send(_ state: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // an abstract socket: a name, not a file
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
        return sent == bytes.count
    }

    /// How often systemd expects a watchdog ping from this process: `$WATCHDOG_USEC`, when `$WATCHDOG_PID` is
    /// absent or names this process.
    public static func watchdogInterval(_ environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(microseconds)
    }
}

/// Tells systemd how `serve` is doing: READY=1 once `ready` returns (the listeners open, the ring loaded), a
/// watchdog ping at half the interval asked, STOPPING=1 as soon as a graceful shutdown begins. Listed last among
/// `serve`'s services, so that it is the first told to shut down, before the server drains.
public struct SystemdService: Service {
    let notifier: SystemdNotifier
    let watchdog: Duration?
    /// The status line for READY, once serving; nil when serving never began.
    let ready: @Sendable () async -> String?

    public init(notifier: SystemdNotifier, watchdog: Duration?, ready: @escaping @Sendable () async -> String?) {
        self.notifier = notifier
        self.watchdog = watchdog
        self.ready = ready
    }

    public func run() async throws {
        let notifier = notifier
        let pings = watchdog.map { interval in
            Task {
                while !Task.isCancelled {
                    notifier.send("WATCHDOG=1")
                    try? await Task.sleep(for: interval / 2)
                }
            }
        }
        defer { pings?.cancel() }
        if let status = await ready() { notifier.send("READY=1\nSTATUS=\(status)") }
        try? await gracefulShutdown()
        notifier.send("STOPPING=1\nSTATUS=draining")
    }
}
