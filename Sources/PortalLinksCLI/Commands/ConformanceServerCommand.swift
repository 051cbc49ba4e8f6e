import ArgumentParser
import Foundation
import Logging
import NIOSSL
import PortalLinks
import PortalLinksCore
import PortalLinksSQLite
import PortalLinksService
import ServiceLifecycle

/// Serves the published test vectors so that client libraries in any language can check themselves over the
/// wire: one server per clock reading the vectors need (verification depends on the time), all over one
/// throw-away home, described in a JSON manifest (Clients/README.md).
struct ConformanceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance-server",
        abstract: "Serve the test vectors to client libraries under test (not for production: its keys are public).",
        discussion: """
            Builds a throw-away home whose ring is the vectors' keys, listens on free loopback ports, one per \
            clock reading the vectors need (plus TLS and mutual-TLS ports with --tls-dir), writes the manifest \
            once every port listens, and serves until SIGTERM or SIGINT, then removes the home.
            """)

    @Option(help: ArgumentHelp("Test-vector file.", valueName: "FILE"))
    var vectors = "Protos/testdata/golden_tokens.json"

    @Option(help: ArgumentHelp("Where to write the manifest (JSON) once the servers listen.", valueName: "FILE"))
    var manifest: String

    @Option(name: .customLong("tls-dir"), help: ArgumentHelp(
        "Folder with ca.pem, server.pem and server.key (and client.pem, client.key for clients): adds TLS and mutual-TLS ports.",
        valueName: "DIR"))
    var tlsDirectory: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "portal-links.conformance")
        let golden = try GoldenVectors.load(path: vectors)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-conformance-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        var policy = LinkPolicy()
        policy.leeway = golden.leewaySeconds  // the vectors' verdicts assume their leeway
        let installation = try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: [:], policy: policy,
                                                       actor: "conformance-server")
        let fixture = try await ConformanceFixture.build(in: installation, vectors: golden)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var plain: [(Int64, PortalLinksServer)] = []
        var secured: [(mutual: Bool, server: PortalLinksServer)] = []
        for time in fixture.times {
            let state = try await ServingState(installation: installation.with(clock: { time }), logger: logger)
            services.append(.init(service: SnapshotReloader(state: state)))
            let server = try PortalLinksServer(configuration: Self.configuration(tls: nil), state: state, logger: logger)
            plain.append((time, server))
            services.append(.init(service: server))
            if time == fixture.mainTime, let tlsDirectory {
                for mutual in [false, true] {
                    let tls = try Self.serverTLS(directory: tlsDirectory, mutual: mutual)
                    let server = try PortalLinksServer(configuration: Self.configuration(tls: tls), state: state, logger: logger)
                    secured.append((mutual, server))
                    services.append(.init(service: server))
                }
            }
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let manifestPath = manifest
        let tlsDirectory = tlsDirectory
        Task {
            do {
                var ports: [String: Int] = [:]
                for (time, server) in plain { ports[String(time)] = try await server.listeningAddress().port }
                var main = Manifest.Main(at: fixture.mainTime, port: ports[String(fixture.mainTime)]!)
                for (mutual, server) in secured {
                    let port = try await server.listeningAddress().port
                    if mutual { main.mtlsPort = port } else { main.tlsPort = port }
                }
                let tls = tlsDirectory.map { directory in
                    Manifest.TLSFiles(ca: "\(directory)/ca.pem", clientCert: "\(directory)/client.pem", clientKey: "\(directory)/client.key")
                }
                let document = Manifest(maxFrameBytes: ServerConfiguration().maximumPayload, main: main, ports: ports,
                                        apiKeys: fixture.apiKeys, registrationLink: fixture.registrationLink, tls: tls,
                                        cases: fixture.cases)
                try document.write(to: manifestPath)
                FileHandle.standardError.write(Data("portal-links: conformance servers ready; manifest \(manifestPath)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("portal-links: \(error)\n".utf8))
                await group.triggerGracefulShutdown()
            }
        }
        try await group.run()
    }

    static func configuration(tls: TLSConfiguration?) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.hashThreads = 1
        configuration.drainTimeout = .seconds(2)
        configuration.tls = tls
        return configuration
    }

    static func serverTLS(directory: String, mutual: Bool) throws -> TLSConfiguration {
        do {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile("\(directory)/server.pem").map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: "\(directory)/server.key", format: .pem)))
            if mutual {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .file("\(directory)/ca.pem")
            }
            return configuration
        } catch {
            throw PortalLinksError(.invalidInput, "cannot read server.pem or server.key in \(directory): \(error)")
        }
    }
}

/// What a conformance server tells the client tests: where to connect, with which keys, and what to expect.
struct Manifest: Encodable {
    struct Main: Encodable {
        /// The clock reading of the main servers (Unix seconds).
        let at: Int64
        let port: Int
        var tlsPort: Int?
        var mtlsPort: Int?
    }

    struct TLSFiles: Encodable {
        let ca: String
        let clientCert: String
        let clientKey: String
    }

    let maxFrameBytes: Int
    let main: Main
    /// Plain-TCP port of the server for each clock reading a case names.
    let ports: [String: Int]
    let apiKeys: ConformanceFixture.APIKeys
    let registrationLink: ConformanceFixture.RegistrationLink
    let tls: TLSFiles?
    let cases: [ConformanceFixture.Case]

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Readers poll for the file: it appears whole or not at all.
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
