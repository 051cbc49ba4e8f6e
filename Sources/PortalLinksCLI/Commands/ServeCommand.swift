import ArgumentParser
import Configuration
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PortalLinks
import PortalLinksCore
import PortalLinksMail
import PortalLinksGateway
import PortalLinksPostgres
import PortalLinksService
import PortalLinksStore
import ServiceLifecycle
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the verify service: protocol v1 over TCP (docs/protocol.md) and the HTTP gateway (docs/http.md).",
        discussion: """
            Key, revocation and caller changes made with this tool in another process reach the running server \
            within a second; with a PostgreSQL --store, changes made through any server or process reach every \
            server the same way. SIGTERM or SIGINT: stop accepting, report NOT_SERVING, let calls in flight finish \
            (up to --drain-timeout), exit. SIGHUP (systemctl reload), or a change to the --config file: read the \
            settings again and apply the TLS certificate and key, the log level, and the limits and timeouts to new \
            connections (docs/configuration.md). On a home directory that does not exist yet (with --store: on a store \
            that was never written to), serve creates it, adds a caller named 'local' and prints its API key and a \
            sample link to try.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("""
        Read settings from this JSON or YAML file (default: $PORTAL_LINKS_CONFIG; docs/configuration.md). A flag \
        wins over its environment variable, which wins over the file, which wins over the default. SIGHUP, or a \
        change to the file, reloads the TLS certificate and key, the log level and the limits and timeouts of new \
        connections.
        """, valueName: "FILE"))
    var config: String?

    @Option(help: ServeSetting.help("Address to listen on.", "listen", valueName: "HOST:PORT"))
    var listen: String?

    @Option(help: ServeSetting.help("""
        Address of the HTTP gateway (docs/http.md): Connect calls (POST /portal_links.v1.Links/Verify and every \
        other method), forward auth for reverse proxies (/auth/link, /auth/session), GET /healthz and /readyz; \
        with the TLS options, over TLS. 'none' turns it off.
        """, "http.listen", valueName: "HOST:PORT"))
    var http: String?

    @Option(name: .customLong("session-cookie"), help: ServeSetting.help("Cookie that carries the session token for /auth/session.", "http.session_cookie"))
    var sessionCookie: String?

    @Option(name: .customLong("link-refused-page"), help: ServeSetting.help("Page /auth/link redirects to (with ?reason=) when the proxy asks for redirects instead of 401.", "http.link_refused_page", valueName: "URL"))
    var linkRefusedPage: String?

    @Option(name: .customLong("sign-in-page"), help: ServeSetting.help("Page /auth/session redirects to (with ?reason=) when the proxy asks for redirects instead of 401.", "http.sign_in_page", valueName: "URL"))
    var signInPage: String?

    @Option(name: .customLong("base-url"), help: ServeSetting.help("Portal address for issued links' url.", "links.base_url", valueName: "URL"))
    var baseURL: String?

    @Option(name: .customLong("reset-url"), help: ServeSetting.help("Email password resets to the address on record, linking to this page with {token} where the reset token goes, such as https://portal.example.com/reset?token={token}; Accounts.RequestPasswordReset then answers without the token. Needs --smtp (or --outbox).", "accounts.reset_url", valueName: "URL"))
    var resetURL: String?

    @Option(name: .customLong("welcome-url"), help: ServeSetting.help("Email a welcome on registration, naming this sign-in page. Needs --smtp (or --outbox).", "accounts.welcome_url", valueName: "URL"))
    var welcomeURL: String?

    @OptionGroup(title: "Account emails (with --reset-url or --welcome-url)") var mail: MailOptions

    @Option(name: .customLong("tls-cert"), help: ServeSetting.help("Certificate chain (PEM) to serve TLS with.", "tls.cert_file", valueName: "FILE"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ServeSetting.help("Private key (PEM) of the certificate.", "tls.key_file", valueName: "FILE"))
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: ServeSetting.help("CA (PEM) that client certificates must chain to: mutual TLS.", "tls.client_ca_file", valueName: "FILE"))
    var tlsClientCA: String?

    @Option(name: .customLong("max-connections"), help: ServeSetting.help("Connections open at once; more are refused.", "limits.max_connections"))
    var maximumConnections: Int?

    @Option(name: .customLong("max-connections-per-address"), help: ServeSetting.help("Connections one client address may hold open; more are refused (raise it to --max-connections behind a TCP balancer).", "limits.max_connections_per_address"))
    var maximumConnectionsPerAddress: Int?

    @Option(name: .customLong("max-in-flight"), help: ServeSetting.help("Calls in flight per connection before the server stops reading it.", "limits.max_in_flight"))
    var maximumInFlight: Int?

    @Option(name: .customLong("max-frame-bytes"), help: ServeSetting.help("Largest payload accepted; a longer one closes the connection.", "limits.max_frame_bytes"))
    var maximumFrameBytes: Int?

    @Option(name: .customLong("idle-timeout"), help: ServeSetting.help("Close connections idle this long.", "timeouts.idle", valueName: "DURATION"))
    var idleTimeout: String?

    @Option(name: .customLong("frame-timeout"), help: ServeSetting.help("Close connections whose frame stays unfinished this long, and connections without a successful Hello after this long without traffic.", "timeouts.frame", valueName: "DURATION"))
    var frameTimeout: String?

    @Option(name: .customLong("drain-timeout"), help: ServeSetting.help("On shutdown, how long calls in flight get to finish.", "timeouts.drain", valueName: "DURATION"))
    var drainTimeout: String?

    @Option(help: ServeSetting.help("Event-loop threads.", "threads"))
    var threads: Int?

    @Option(name: .customLong("hash-threads"), help: ServeSetting.help("Threads hashing passwords for sign-in, registration and reset, 19 MiB each while busy.", "hashing.threads"))
    var hashThreads: Int?

    @Option(name: .customLong("hash-queue"), help: ServeSetting.help("Password hashes that may wait for a thread; beyond them account calls get RESOURCE_EXHAUSTED.", "hashing.queue"))
    var hashQueue: Int?

    @Option(name: .customLong("hash-priority"), help: ServeSetting.help("idle (hashes get only the CPU the event loops leave, so Verify keeps its speed on a busy machine), low (nice +10) or normal.", "hashing.priority"))
    var hashPriority: String?

    @Option(name: .customLong("min-password-length"), help: ServeSetting.help("Shortest password accepted at registration and reset (8 to 64; 15 is advised without a second factor).", "accounts.min_password_length"))
    var minimumPasswordLength: Int?

    @Option(name: .customLong("lockout-attempts"), help: ServeSetting.help("Failed sign-ins in a row that lock an account.", "accounts.lockout_attempts"))
    var lockoutAttempts: Int?

    @Option(name: .customLong("lockout-duration"), help: ServeSetting.help("How long a locked account stays locked.", "accounts.lockout_duration", valueName: "DURATION"))
    var lockoutDuration: String?

    @Option(help: ServeSetting.help("""
        Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz, /readyz): \
        portal_links_requests_total{method,status}, portal_links_verify_results_total{result}, \
        portal_links_request_duration_seconds{method} (histogram), portal_links_open_connections, \
        portal_links_key_ring_generation. Calls through the HTTP gateway count with the binary port's. At most \
        64 connections, each request whole within 5 s, kept-alive connections closed after 30 s idle.
        """, "metrics.listen", valueName: "HOST:PORT"))
    var metrics: String?

    @Option(name: .customLong("log-format"), help: ServeSetting.help("text or json, on stderr.", "log.format"))
    var logFormat: String?

    @Option(name: .customLong("log-level"), help: ServeSetting.help("trace, debug, info, notice, warning, error or critical.", "log.level"))
    var logLevel: String?

    /// The flags given, by setting key: the first of the sources `ServeSettings` reads.
    var flagValues: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        let texts: [(String, String?)] = [
            ("home", global.home), ("store.url", global.store), ("listen", listen), ("http.listen", http),
            ("http.session_cookie", sessionCookie), ("http.link_refused_page", linkRefusedPage), ("http.sign_in_page", signInPage),
            ("metrics.listen", metrics), ("tls.cert_file", tlsCertificate), ("tls.key_file", tlsKey), ("tls.client_ca_file", tlsClientCA),
            ("timeouts.idle", idleTimeout), ("timeouts.frame", frameTimeout), ("timeouts.drain", drainTimeout),
            ("hashing.priority", hashPriority), ("accounts.lockout_duration", lockoutDuration), ("accounts.reset_url", resetURL),
            ("accounts.welcome_url", welcomeURL), ("links.base_url", baseURL), ("log.level", logLevel), ("log.format", logFormat),
            ("mail.smtp", mail.smtp), ("mail.smtp_user", mail.smtpUser), ("mail.smtp_password_file", mail.smtpPasswordFile),
            ("mail.smtp_ca_file", mail.smtpCAFile), ("mail.from", mail.mailFrom), ("mail.contact", mail.mailContact),
            ("mail.template_dir", mail.templateDirectory), ("mail.outbox", mail.outbox),
        ]
        let numbers: [(String, Int?)] = [
            ("limits.max_connections", maximumConnections), ("limits.max_connections_per_address", maximumConnectionsPerAddress),
            ("limits.max_in_flight", maximumInFlight), ("limits.max_frame_bytes", maximumFrameBytes), ("threads", threads),
            ("hashing.threads", hashThreads), ("hashing.queue", hashQueue), ("accounts.min_password_length", minimumPasswordLength),
            ("accounts.lockout_attempts", lockoutAttempts),
        ]
        for case let (key, value?) in texts { values[key] = .string(value) }
        for case let (key, value?) in numbers { values[key] = .int(value) }
        return values
    }

    func run() async throws {
        // From now on a SIGHUP is a reload (once serving), not the end of the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let processEnvironment = global.environment
        let configPath = ServeSettings.configPath(config, processEnvironment)
        let flags = flagValues
        let settings = try ServeSettings.load(flags: flags, environment: processEnvironment, configPath: configPath)
        let logLevel = LogLevelControl(Logger.Level(rawValue: settings["log.level"]!)!)
        let json = settings["log.format"] == "json"
        LoggingSystem.bootstrap { label in
            logLevel.handler(json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label))
        }
        let logger = Logger(label: "portal-links.serve")
        // The layers below read their settings from an environment: the process's, with the file's added.
        let environment = try settings.environment(over: processEnvironment)
        var global = global
        global.home = settings["home"]
        global.store = settings["store.url"]

        let home = Installation.homeDirectory(explicit: global.home, environment: environment)
        let isNewHome = !FileManager.default.fileExists(atPath: home)
        let installation = try await global.open(logger: logger, environment: environment).acting(as: "serve").with(accountPolicy: settings.accountPolicy)
        // The embedded store is new with its home; a store elsewhere while nothing was ever written to it.
        let isNewStore = try global.storeLocation(in: environment) == nil ? isNewHome : try await installation.store.generation() == 0

        var configuration = try settings.serverConfiguration()
        configuration.accountMail = try accountMail(settings, environment)

        var welcome: [String] = []
        // Under systemd, standard output goes to the journal ($JOURNAL_STREAM), a log: no key or link there.
        let toJournal = environment["JOURNAL_STREAM"] != nil
        if isNewStore, toJournal {
            logger.warning("a new store has no caller yet: add one with 'portal-links callers add NAME --scopes verify,accounts' on this machine, with PORTAL_LINKS_HOME=\(home)")
        }
        // Two servers started together on a new shared store both find it new; the second finds the caller
        // taken and goes without the welcome.
        if isNewStore, !toJournal, let key = try await Self.addLocalCaller(installation) {
            let link = try await installation.issue(IssueRequest(clientID: .text("demo"), displayName: "Demo Client"))
            welcome = [
                isNewHome && FileManager.default.fileExists(atPath: home) ? "created the home directory \(home)" : "set up the new store",
                "caller 'local' API key (shown once): \(key)",
                "a sample link to verify: \(link.token)",
            ]
        }
        let state = try await ServingState(installation: installation, logger: logger)
        let group: any EventLoopGroup = settings.number("threads").map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
            ?? MultiThreadedEventLoopGroup.singleton
        let server = try settings.namingTLSFiles {
            try PortalLinksServer(configuration: configuration, state: state, logger: logger, group: group)
        }
        // Shut down in reverse order: reloads stop, the binary port drains (the HTTP gateway's /readyz then
        // answers 503), then the gateway and the metrics endpoint close.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics = settings["metrics.listen"] {
            let (host, port) = ServeSetting.hostAndPort(metrics)!
            services.append(.init(service: HTTPGateway.metricsListener(host: host, port: port, server: server, group: group, logger: logger)))
        }
        var gateway: HTTPListener?
        if let http = settings["http.listen"], http != "none" {
            var options = HTTPGateway.Configuration()
            (options.host, options.port) = ServeSetting.hostAndPort(http)!
            options.tls = server.tls
            options.sessionCookie = settings["http.session_cookie"]!
            options.linkRedirect = settings["http.link_refused_page"]
            options.sessionRedirect = settings["http.sign_in_page"]
            gateway = HTTPGateway.listener(options, server: server, group: group, logger: logger)
            services.append(.init(service: gateway!))
        }
        services += [
            .init(service: server), .init(service: SnapshotReloader(state: state)),
            .init(service: ConfigurationReloader(path: configPath, flags: flags, environment: processEnvironment, settings: settings,
                                                 server: server, logLevel: logLevel, hangups: hangups, logger: logger)),
        ]
        // Printed once the listeners are open; under systemd (Type=notify) also its READY=1.
        let announce: @Sendable () async -> String? = { [configuration, gateway, welcome] in
            guard let address = try? await server.listeningAddress() else { return nil }
            var lines = ["home: \(home)"]
            if let postgres = installation.store as? PostgresLinkStore { lines.append("store: \(postgres.location)") }
            if let gateway, let httpAddress = try? await gateway.listeningAddress() {
                lines.append("HTTP gateway on \(configuration.tls == nil ? "http" : "https")://\(Self.hostPort(httpAddress))")
            }
            if let mail = configuration.accountMail {
                let kinds = [mail.resetURL.map { _ in "password resets" }, mail.welcomeURL.map { _ in "welcomes" }].compactMap { $0 }
                lines.append("account emails (\(kinds.joined(separator: ", "))) through \(mail.mailer.description)")
            }
            lines.append("listening on \(address)" + (configuration.tls == nil ? "" : " (TLS)"))
            // The welcome's key and link go to standard output, before the address: standard error is the log
            // stream, where a secret must never go.
            if !welcome.isEmpty { FileHandle.standardOutput.write(Data((welcome.joined(separator: "\n") + "\n").utf8)) }
            FileHandle.standardError.write(Data((lines.map { "portal-links: \($0)" }.joined(separator: "\n") + "\n").utf8))
            return "listening on \(address)"
        }
        if let notifier = SystemdNotifier(environment: global.environment) {
            // Last, so that a shutdown tells systemd STOPPING=1 before the server drains.
            services.append(.init(service: SystemdService(notifier: notifier, watchdog: SystemdNotifier.watchdogInterval(global.environment),
                                                          ready: announce)))
        } else {
            Task { _ = await announce() }
        }
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await serviceGroup.run()
        } catch {
            await installation.store.close()
            throw error
        }
        await installation.store.close()
    }

    /// The account emails asked for, checked before anything starts; nil when neither is.
    func accountMail(_ settings: ServeSettings, _ environment: [String: String]) throws -> AccountMailer.Configuration? {
        let reset = settings["accounts.reset_url"]
        let welcome = settings["accounts.welcome_url"]
        guard reset != nil || welcome != nil else { return nil }
        return AccountMailer.Configuration(
            mailer: try mail.mailer(environment, for: "--reset-url and --welcome-url"), resetURL: reset, welcomeURL: welcome,
            reset: try mail.template(.reset, environment), welcome: try mail.template(.welcome, environment), contact: mail.contact(environment))
    }

    /// "127.0.0.1:7421" or "[::1]:7421", for a URL.
    static func hostPort(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "localhost"
        return (host.contains(":") ? "[\(host)]" : host) + ":\(address.port ?? 0)"
    }

    /// The welcome's caller with every scope; nil when another server made it first.
    static func addLocalCaller(_ installation: Installation) async throws -> String? {
        do {
            return try await installation.addCaller(named: "local", scopes: [.verify, .issue, .accounts])
        } catch let error as PortalLinksError where error.code == .conflict {
            return nil
        }
    }
}
