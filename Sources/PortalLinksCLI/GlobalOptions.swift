import ArgumentParser
import Configuration
import Foundation
import Logging
import PortalLinks
import PortalLinksCore
import PortalLinksSQLite

/// Options every command that touches the installation takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Home directory of the installation (default: $PORTAL_LINKS_HOME, else ~/.portal-links).", valueName: "DIR"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("Who is acting, for the audit log (default: $PORTAL_LINKS_ACTOR, else $USER).", valueName: "NAME"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp(
        "Where the data lives: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE] or sqlite:PATH (default: $PORTAL_LINKS_STORE, else the SQLite file in the home). The master key still comes from $PORTAL_LINKS_MASTER_KEY or the home.",
        valueName: "URL"))
    var store: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// `--store`, else `PORTAL_LINKS_STORE`; nil for the SQLite file in the home.
    var storeLocation: StoreLocation? {
        get throws { try storeLocation(in: environment) }
    }

    func storeLocation(in environment: [String: String]) throws -> StoreLocation? {
        guard let text = [store, environment["PORTAL_LINKS_STORE"]].compactMap({ $0 }).first(where: { !$0.isEmpty }) else { return nil }
        return try StoreLocation(parsing: text)
    }

    func validate() throws {
        do { _ = try storeLocation } catch let error as PortalLinksError { throw ValidationError(error.message) }
    }

    var actorName: String {
        let account = getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        let candidates = [actor, environment["PORTAL_LINKS_ACTOR"], environment["USER"], account]
        return candidates.compactMap { $0 }.first { !$0.isEmpty } ?? "unknown"
    }

    /// Opens the installation; `logger` gets the store's own messages (schema migrations, a PostgreSQL listener
    /// that reconnects), by default only warnings and worse. `existing` is for commands that only read: a home
    /// that is not there is an error for them, not a new installation with a new master key.
    func open(logger: Logger? = nil, existing: Bool = false) async throws -> Installation {
        try await open(logger: logger, existing: existing, environment: try environmentWithConfiguration())
    }

    /// The process's environment, with the home, store and master-key settings of the file $PORTAL_LINKS_CONFIG
    /// names, as serve reads them (--home and --store still win): on a server's machine, staff commands with
    /// the server's PORTAL_LINKS_CONFIG reach the server's store.
    func environmentWithConfiguration() throws -> [String: String] {
        guard let path = ServeSettings.configPath(nil, environment) else { return environment }
        var flags: [String: ConfigContent] = [:]
        if let home { flags["home"] = .string(home) }
        if let store { flags["store.url"] = .string(store) }
        return try ServeSettings.load(flags: flags, environment: environment, configPath: path, keys: ServeSetting.installationKeys)
            .environment(over: environment)
    }

    /// `environment` instead of the process's: serve's, with its configuration file's settings in it.
    func open(logger: Logger? = nil, existing: Bool = false, environment: [String: String]) async throws -> Installation {
        var policy = LinkPolicy()
        if let text = environment["PORTAL_LINKS_MAX_LIFETIME"] {
            guard let seconds = TimeText.parseDuration(text), seconds <= 36_500 * 86_400 else {
                throw PortalLinksError(.invalidInput, "PORTAL_LINKS_MAX_LIFETIME must be a duration such as 365d, at most 36500d")
            }
            policy.maximumLifetime = seconds
        }
        if let text = environment["PORTAL_LINKS_LEEWAY"] {
            guard let seconds = Int64(text), (0...86_400).contains(seconds) else {
                throw PortalLinksError(.invalidInput, "PORTAL_LINKS_LEEWAY must be 0 to 86400 seconds")
            }
            policy.leeway = seconds
        }
        let home = Installation.homeDirectory(explicit: home, environment: environment)
        if existing, !FileManager.default.fileExists(atPath: home),
           try storeLocation(in: environment) == nil || environment[MasterKeyLoader.environmentVariable] == nil {
            throw PortalLinksError(.notFound, "no installation at \(home): set PORTAL_LINKS_HOME or --home to an existing one")
        }
        guard let location = try storeLocation(in: environment) else {
            // The default: the embedded SQLite file in the home.
            return try await Installation.open(store: try SQLiteLinkStore(home: home), home: home, environment: environment,
                                               policy: policy, actor: actorName)
        }
        var warnings = Logger(label: "portal-links")
        warnings.logLevel = .warning
        let store = try await location.open(environment: environment, logger: logger ?? warnings)
        return try await Installation.open(store: store, home: home, environment: environment, policy: policy, actor: actorName)
    }
}

/// Parsers for argument values, so that bad values are usage errors with one clear line.
enum Arguments {
    static func time(_ text: String, option: String) throws -> Int64 {
        guard let value = TimeText.parseTime(text) else {
            throw ValidationError("\(option) takes an ISO 8601 time such as 2027-03-01T12:00:00Z, or Unix seconds")
        }
        return value
    }

    static func duration(_ text: String, option: String) throws -> Int64 {
        guard let value = TimeText.parseDuration(text) else {
            throw ValidationError("\(option) takes a duration such as 14d, 24h or 30m")
        }
        return value
    }

    /// HOST:PORT, as --listen, --connect and --http take it.
    static func address(_ text: String, option: String) throws -> (host: String, port: Int) {
        guard let address = ServeSetting.hostAndPort(text) else {
            throw ValidationError("\(option) takes HOST:PORT, such as 127.0.0.1:7420 or [::1]:7420")
        }
        return address
    }

    static func keyID(_ text: String) throws -> KeyID {
        guard let id = KeyID(parsing: text) else { throw ValidationError("a key ID is 8 hex digits, as 'keys list' shows") }
        return id
    }

    static func linkID(_ text: String) throws -> LinkID {
        guard let id = LinkID(parsing: text) else { throw ValidationError("a link ID is 16 hex digits, as 'verify' or 'links list' shows") }
        return id
    }

    /// A usage error (exit 2) when malformed, also when called from `validate()`.
    static func clientID(_ text: String) throws -> ClientID {
        do {
            return try ClientID(parsing: text.trimmingCharacters(in: .whitespaces))
        } catch {
            throw ValidationError(error.message)
        }
    }
}

/// A key ID argument, checked while parsing.
struct KeyArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The key, as 'keys list' shows it.", valueName: "KEY_ID"))
    var keyID: String

    func validate() throws { _ = try Arguments.keyID(keyID) }

    var id: KeyID { KeyID(parsing: keyID)! }
}

/// A client ID argument, checked while parsing.
struct ClientArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The client: a UUID or a short text ID.", valueName: "CLIENT_ID"))
    var clientID: String

    func validate() throws { _ = try Arguments.clientID(clientID) }

    var id: ClientID { try! Arguments.clientID(clientID) }
}

/// The link to check and the time to check it at, for verify and inspect.
struct TokenArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("The token, or a whole link URL; spaces, quotes and angle brackets around it are ignored.",
                                 valueName: "TOKEN_OR_URL"))
    var token: String

    @Option(help: ArgumentHelp("Check as of this time (ISO 8601 or Unix seconds) instead of now.", valueName: "TIME"))
    var at: String?

    func validate() throws {
        if let at { _ = try Arguments.time(at, option: "--at") }
    }

    var time: Int64? { at.flatMap(TimeText.parseTime) }
}
