import ArgumentParser
import PortalLinksCore

extension ServeSetting {
    /// Every setting `serve` reads, in the order `config show` and docs/portal-links.example.yaml list them.
    static let all: [ServeSetting] = [
        // Where the data lives.
        .init("home", flag: "home", .text, unset: "~/.portal-links"),
        .init("store.url", flag: "store", .storeURL, unset: "the SQLite file in the home"),
        .init("store.password_file", flag: nil, .secretFile, unset: "the URL's password, else $PGPASSWORD"),
        .init("master_key_file", flag: nil, .secretFile, unset: "$PORTAL_LINKS_MASTER_KEY, else the home's master.key"),
        // Listeners.
        .init("listen", flag: "listen", .address(orNone: false), default: "127.0.0.1:7420"),
        .init("http.listen", flag: "http", .address(orNone: true), default: "127.0.0.1:7421"),
        .init("http.session_cookie", flag: "session-cookie", .cookieName, default: "portal_session"),
        .init("http.link_refused_page", flag: "link-refused-page", .page, unset: "answer 401"),
        .init("http.sign_in_page", flag: "sign-in-page", .page, unset: "answer 401"),
        .init("metrics.listen", flag: "metrics", .address(orNone: false), unset: "off"),
        .init("threads", flag: "threads", .number(1...256), unset: "one per core"),
        // TLS, for the binary port and the HTTP gateway.
        .init("tls.cert_file", flag: "tls-cert", .file, unset: "plain TCP", reloads: true),
        .init("tls.key_file", flag: "tls-key", .file, unset: "plain TCP", reloads: true),
        .init("tls.client_ca_file", flag: "tls-client-ca", .file, unset: "no client certificates", reloads: true),
        // Limits and timeouts, for new connections.
        .init("limits.max_connections", flag: "max-connections", .number(1...1_000_000), default: "10000", reloads: true),
        .init("limits.max_connections_per_address", flag: "max-connections-per-address", .number(1...1_000_000), default: "1024", reloads: true),
        .init("limits.max_in_flight", flag: "max-in-flight", .number(1...1_000_000), default: "1024", reloads: true),
        .init("limits.max_frame_bytes", flag: "max-frame-bytes", .number(1...16_777_216), default: "65536", reloads: true),
        .init("timeouts.idle", flag: "idle-timeout", .duration(atMost: year), default: "5m", reloads: true),
        .init("timeouts.frame", flag: "frame-timeout", .duration(atMost: year), default: "10s", reloads: true),
        .init("timeouts.drain", flag: "drain-timeout", .duration(atMost: year), default: "10s", reloads: true),
        // Password hashing and accounts.
        .init("hashing.threads", flag: "hash-threads", .number(1...64), unset: "one per core"),
        .init("hashing.queue", flag: "hash-queue", .number(0...100_000), default: "64"),
        .init("hashing.priority", flag: "hash-priority", .choice(["idle", "low", "normal"]), default: "idle"),
        .init("accounts.min_password_length", flag: "min-password-length", .number(8...64), default: "\(PasswordPolicy.defaultMinimumLength)"),
        .init("accounts.lockout_attempts", flag: "lockout-attempts", .number(1...100), default: "5"),
        .init("accounts.lockout_duration", flag: "lockout-duration", .duration(atMost: year), default: "15m"),
        .init("accounts.reset_url", flag: "reset-url", .resetURL, unset: "no reset emails"),
        .init("accounts.welcome_url", flag: "welcome-url", .baseURL, unset: "no welcome emails"),
        // Links.
        .init("links.base_url", flag: "base-url", .baseURL, unset: "tokens without a url"),
        .init("links.max_lifetime", flag: nil, environment: "PORTAL_LINKS_MAX_LIFETIME", .duration(atMost: 36_500 * day), default: "365d"),
        .init("links.leeway", flag: nil, environment: "PORTAL_LINKS_LEEWAY", .number(0...86_400), default: "60"),
        // Email (account emails).
        .init("mail.smtp", flag: "smtp", .smtpURL, unset: "no SMTP server"),
        .init("mail.smtp_user", flag: "smtp-user", .text, unset: "no login"),
        .init("mail.smtp_password_file", flag: "smtp-password-file", .secretFile, unset: "$PORTAL_LINKS_SMTP_PASSWORD"),
        .init("mail.smtp_ca_file", flag: "smtp-ca-file", .file, unset: "the system's certificates"),
        .init("mail.from", flag: "mail-from", .text, unset: "no sender"),
        .init("mail.contact", flag: "mail-contact", .text, unset: "the sender"),
        .init("mail.template_dir", flag: "template-dir", .directory, unset: "the built-in templates"),
        .init("mail.outbox", flag: "outbox", .text, unset: "send over SMTP"),
        // Logging, on standard error.
        .init("log.level", flag: "log-level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: "info", reloads: true),
        .init("log.format", flag: "log-format", .choice(["text", "json"]), default: "text"),
    ]

    private static let day: Int64 = 86_400
    private static let year: Int64 = 365 * day

    /// What every command's installation is opened with: staff commands read these from the file
    /// $PORTAL_LINKS_CONFIG names, so that on a server's machine they reach the server's store.
    static let installationKeys: Set<String> = ["home", "store.url", "store.password_file", "master_key_file", "links.max_lifetime", "links.leeway"]

    static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// A flag's help, with its default and where else the setting can come from.
    static func help(_ text: String, _ key: String, valueName: String? = nil) -> ArgumentHelp {
        let setting = byKey[key]!
        return ArgumentHelp("\(text) (default: \(setting.defaultValue ?? setting.unsetMeaning); \(key) in --config, $\(setting.environmentVariable))",
                            valueName: valueName)
    }
}
