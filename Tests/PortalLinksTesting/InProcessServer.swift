import Foundation
import Logging
import PortalLinks
import PortalLinksService
import ServiceLifecycle

/// `serve` inside the test (or fuzzing) process: the server on 127.0.0.1 at a port the system chose, over an
/// installation the caller opened, with the snapshot reloader and any services the caller adds, in one
/// service group. `stop` shuts it down gracefully and removes the home.
public final class InProcessServer: Sendable {
    public let home: String
    public let installation: Installation
    public let state: ServingState
    public let server: PortalLinksServer
    public let group: ServiceGroup
    public let running: Task<Void, any Error>
    public let port: Int

    /// A new directory name for an installation home (not created: `Installation.open` creates it).
    public static func temporaryHome(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-\(label)-\(UUID().uuidString)").path
    }

    /// Starts serving `installation` (whose home is `home`). `configuration.port` is set to 0.
    public static func start(installation: Installation, home: String, configuration: ServerConfiguration,
                             reloadInterval: Duration = .milliseconds(100), logger: Logger,
                             alongside: (PortalLinksServer) -> [any Service] = { _ in [] }) async throws -> InProcessServer {
        var configuration = configuration
        configuration.port = 0
        let state = try await ServingState(installation: installation, logger: logger)
        let server = try PortalLinksServer(configuration: configuration, state: state, logger: logger)
        let services: [any Service] = [server, SnapshotReloader(state: state, interval: reloadInterval)] + alongside(server)
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        let running = Task { try await group.run() }
        let port = try await server.listeningAddress().port!
        return InProcessServer(home: home, installation: installation, state: state, server: server, group: group,
                               running: running, port: port)
    }

    private init(home: String, installation: Installation, state: ServingState, server: PortalLinksServer, group: ServiceGroup,
                 running: Task<Void, any Error>, port: Int) {
        self.home = home
        self.installation = installation
        self.state = state
        self.server = server
        self.group = group
        self.running = running
        self.port = port
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? FileManager.default.removeItem(atPath: home)
    }
}
