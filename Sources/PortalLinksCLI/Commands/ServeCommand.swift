import ArgumentParser
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

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the verify service: protocol v1 over TCP (docs/protocol.md) and the HTTP gateway (docs/http.md).",
        discussion: """
            Key, revocation and caller changes made with this tool in another process reach the running server \
            within a second; with a PostgreSQL --store, changes made through any server or process reach every \
            server the same way. SIGTERM or SIGINT: stop accepting, report NOT_SERVING, let calls in flight finish \
            (up to --drain-timeout), exit. On a home directory that does not exist yet (with --store: on a store \
            that was never written to), serve creates it, adds a caller named 'local' and prints its API key and a \
            sample link to try.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:7420"

    @Option(help: ArgumentHelp("""
        Address of the HTTP gateway (docs/http.md): Connect calls (POST /portal_links.v1.Links/Verify and every \
        other method), forward auth for reverse proxies (/auth/link, /auth/session), GET /healthz and /readyz; \
        with the TLS options, over TLS. 'none' turns it off.
        """, valueName: "HOST:PORT"))
    var http = "127.0.0.1:7421"

    @Option(name: .customLong("session-cookie"), help: "Cookie that carries the session token for /auth/session.")
    var sessionCookie = "portal_session"

    @Option(name: .customLong("link-refused-page"), help: ArgumentHelp("Page /auth/link redirects to (with ?reason=) when the proxy asks for redirects instead of 401.", valueName: "URL"))
    var linkRefusedPage: String?

    @Option(name: .customLong("sign-in-page"), help: ArgumentHelp("Page /auth/session redirects to (with ?reason=) when the proxy asks for redirects instead of 401.", valueName: "URL"))
    var signInPage: String?

    @Option(name: .customLong("base-url"), help: ArgumentHelp("Portal address for issued links' url (default: $PORTAL_LINKS_BASE_URL).", valueName: "URL"))
    var baseURL: String?

    @Option(name: .customLong("reset-url"), help: ArgumentHelp("Email password resets to the address on record, linking to this page with {token} where the reset token goes, such as https://portal.example.com/reset?token={token} (default: $PORTAL_LINKS_RESET_URL); Accounts.RequestPasswordReset then answers without the token. Needs --smtp (or --outbox).", valueName: "URL"))
    var resetURL: String?

    @Option(name: .customLong("welcome-url"), help: ArgumentHelp("Email a welcome on registration, naming this sign-in page (default: $PORTAL_LINKS_WELCOME_URL). Needs --smtp (or --outbox).", valueName: "URL"))
    var welcomeURL: String?

    @OptionGroup(title: "Account emails (with --reset-url or --welcome-url)") var mail: MailOptions

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Certificate chain (PEM) to serve TLS with.", valueName: "FILE"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("Private key (PEM) of the certificate.", valueName: "FILE"))
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: ArgumentHelp("CA (PEM) that client certificates must chain to: mutual TLS.", valueName: "FILE"))
    var tlsClientCA: String?

    @Option(name: .customLong("max-connections"), help: "Connections open at once; more are refused.")
    var maximumConnections = 10_000

    @Option(name: .customLong("max-connections-per-address"), help: "Connections one client address may hold open; more are refused (raise it to --max-connections behind a TCP balancer).")
    var maximumConnectionsPerAddress = 1_024

    @Option(name: .customLong("max-in-flight"), help: "Calls in flight per connection before the server stops reading it.")
    var maximumInFlight = 1_024

    @Option(name: .customLong("max-frame-bytes"), help: "Largest payload accepted; a longer one closes the connection.")
    var maximumFrameBytes = 65_536

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Close connections idle this long.", valueName: "DURATION"))
    var idleTimeout = "5m"

    @Option(name: .customLong("frame-timeout"), help: ArgumentHelp("Close connections whose frame stays unfinished this long, and connections without a successful Hello after this long without traffic.", valueName: "DURATION"))
    var frameTimeout = "10s"

    @Option(name: .customLong("drain-timeout"), help: ArgumentHelp("On shutdown, how long calls in flight get to finish.", valueName: "DURATION"))
    var drainTimeout = "10s"

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("hash-threads"), help: "Threads hashing passwords for sign-in, registration and reset, 19 MiB each while busy (default: one per core).")
    var hashThreads: Int?

    @Option(name: .customLong("hash-queue"), help: "Password hashes that may wait for a thread; beyond them account calls get RESOURCE_EXHAUSTED.")
    var hashQueue = 64

    @Option(name: .customLong("hash-priority"), help: "idle (hashes get only the CPU the event loops leave, so Verify keeps its speed on a busy machine), low (nice +10) or normal.")
    var hashPriority: HashingPool.Priority = .idle

    @Option(name: .customLong("min-password-length"), help: "Shortest password accepted at registration and reset (8 to 64; 15 is advised without a second factor).")
    var minimumPasswordLength = PasswordPolicy.defaultMinimumLength

    @Option(name: .customLong("lockout-attempts"), help: "Failed sign-ins in a row that lock an account.")
    var lockoutAttempts = 5

    @Option(name: .customLong("lockout-duration"), help: ArgumentHelp("How long a locked account stays locked.", valueName: "DURATION"))
    var lockoutDuration = "15m"

    @Option(help: ArgumentHelp("""
        Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz, /readyz): \
        portal_links_requests_total{method,status}, portal_links_verify_results_total{result}, \
        portal_links_request_duration_seconds{method} (histogram), portal_links_open_connections, \
        portal_links_key_ring_generation. Calls through the HTTP gateway count with the binary port's. At most \
        64 connections, each request whole within 5 s, kept-alive connections closed after 30 s idle.
        """, valueName: "HOST:PORT"))
    var metrics: String?

    @Option(name: .customLong("log-format"), help: "text or json, on stderr.")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    enum LogFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        _ = try Self.parseListen(listen)
        if let metrics { _ = try Self.parseListen(metrics, option: "--metrics") }
        if http != "none" { _ = try Self.parseListen(http, option: "--http") }
        for (page, option) in [(linkRefusedPage, "--link-refused-page"), (signInPage, "--sign-in-page")] {
            if let page, !(page.hasPrefix("https://") || page.hasPrefix("http://") || page.hasPrefix("/")) || page.contains(where: \.isNewline) {
                throw ValidationError("\(option) takes an http(s) URL or a path starting with /")
            }
        }
        guard !sessionCookie.isEmpty, sessionCookie.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ValidationError("--session-cookie takes letters, digits, '-', '_' and '.'")
        }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads takes 1 to 256") }
        for (value, option) in [(idleTimeout, "--idle-timeout"), (frameTimeout, "--frame-timeout"), (drainTimeout, "--drain-timeout")] {
            _ = try Arguments.duration(value, option: option)
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level takes trace, debug, info, notice, warning, error or critical") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsClientCA != nil, tlsCertificate == nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        guard maximumConnections > 0, maximumConnectionsPerAddress > 0, maximumInFlight > 0, (1...16_777_216).contains(maximumFrameBytes) else {
            throw ValidationError("--max-connections, --max-connections-per-address and --max-in-flight must be positive; --max-frame-bytes 1 to 16777216")
        }
        if let baseURL { _ = try LinkRenderer.checkedBaseURL(baseURL) }
        if let hashThreads, !(1...64).contains(hashThreads) { throw ValidationError("--hash-threads takes 1 to 64") }
        guard (0...100_000).contains(hashQueue) else { throw ValidationError("--hash-queue takes 0 to 100000") }
        guard (8...64).contains(minimumPasswordLength) else { throw ValidationError("--min-password-length takes 8 to 64") }
        guard (1...100).contains(lockoutAttempts) else { throw ValidationError("--lockout-attempts takes 1 to 100") }
        guard try Arguments.duration(lockoutDuration, option: "--lockout-duration") > 0 else {
            throw ValidationError("--lockout-duration must be longer than zero")
        }
    }

    static func parseListen(_ text: String, option: String = "--listen") throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ValidationError("\(option) takes HOST:PORT, such as 127.0.0.1:7420 or [::1]:7420")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("\(option) takes HOST:PORT, such as 127.0.0.1:7420") }
        return (host, port)
    }

    func run() async throws {
        let format = logFormat
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "portal-links.serve")

        let home = Installation.homeDirectory(explicit: global.home, environment: global.environment)
        let isNewHome = !FileManager.default.fileExists(atPath: home)
        var accountPolicy = AccountPolicy()
        accountPolicy.passwords.minimumLength = minimumPasswordLength
        accountPolicy.lockout = LockoutPolicy(maximumFailures: lockoutAttempts,
                                              lockSeconds: try Arguments.duration(lockoutDuration, option: "--lockout-duration"))
        let installation = try await global.open(logger: logger).acting(as: "serve").with(accountPolicy: accountPolicy)
        // The embedded store is new with its home; a store elsewhere while nothing was ever written to it.
        let isNewStore = try global.storeLocation == nil ? isNewHome : try await installation.store.generation() == 0

        var configuration = ServerConfiguration()
        (configuration.host, configuration.port) = try Self.parseListen(listen)
        configuration.maximumConnections = maximumConnections
        configuration.maximumConnectionsPerAddress = maximumConnectionsPerAddress
        configuration.maximumInFlight = maximumInFlight
        configuration.maximumPayload = maximumFrameBytes
        configuration.idleTimeout = .seconds(try Arguments.duration(idleTimeout, option: "--idle-timeout"))
        configuration.partialFrameTimeout = .seconds(try Arguments.duration(frameTimeout, option: "--frame-timeout"))
        configuration.drainTimeout = .seconds(try Arguments.duration(drainTimeout, option: "--drain-timeout"))
        configuration.baseURL = baseURL ?? global.environment["PORTAL_LINKS_BASE_URL"]
        configuration.tls = try tlsConfiguration()
        if let hashThreads { configuration.hashThreads = hashThreads }
        configuration.accountMail = try accountMail()
        configuration.maximumWaitingHashes = hashQueue
        configuration.hashPriority = hashPriority

        var welcome: [String] = []
        // Under systemd, standard output goes to the journal ($JOURNAL_STREAM), a log: no key or link there.
        let toJournal = global.environment["JOURNAL_STREAM"] != nil
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
        let group: any EventLoopGroup = threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
            ?? MultiThreadedEventLoopGroup.singleton
        let server = try PortalLinksServer(configuration: configuration, state: state, logger: logger, group: group)
        // Shut down in reverse order: reloads stop, the binary port drains (the HTTP gateway's /readyz then
        // answers 503), then the gateway and the metrics endpoint close.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics {
            let (host, port) = try Self.parseListen(metrics)
            services.append(.init(service: HTTPGateway.metricsListener(host: host, port: port, server: server, group: group, logger: logger)))
        }
        var gateway: HTTPListener?
        if http != "none" {
            var options = HTTPGateway.Configuration()
            (options.host, options.port) = try Self.parseListen(http)
            options.tls = configuration.tls
            options.sessionCookie = sessionCookie
            options.linkRedirect = linkRefusedPage
            options.sessionRedirect = signInPage
            gateway = HTTPGateway.listener(options, server: server, group: group, logger: logger)
            services.append(.init(service: gateway!))
        }
        services += [.init(service: server), .init(service: SnapshotReloader(state: state))]
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
    func accountMail() throws -> AccountMailer.Configuration? {
        let environment = global.environment
        let reset = MailOptions.setting(resetURL, "PORTAL_LINKS_RESET_URL", environment)
        let welcome = MailOptions.setting(welcomeURL, "PORTAL_LINKS_WELCOME_URL", environment)
        guard reset != nil || welcome != nil else { return nil }
        if let reset, !AccountMailer.Configuration.checkResetURL(reset) {
            throw ValidationError("--reset-url takes an http(s) URL with {token} where the reset token goes, such as https://portal.example.com/reset?token={token}")
        }
        if let welcome { _ = try LinkRenderer.checkedBaseURL(welcome) }
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

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard let tlsCertificate, let tlsKey else { return nil }
        do {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCertificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem)))
            if let tlsClientCA {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .file(tlsClientCA)
            }
            return configuration
        } catch {
            throw PortalLinksError(.invalidInput, "cannot read the TLS certificate or key: \(error)")
        }
    }
}

extension HashingPool.Priority: ExpressibleByArgument {}
