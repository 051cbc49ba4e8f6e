import Configuration
import Foundation
import PortalLinks
import PortalLinksCore

/// A setting's problem, as one line: where the value came from, and why it is refused.
struct SettingProblem: Error, CustomStringConvertible, Sendable {
    /// `--max-connections`, `PORTAL_LINKS_MAX_CONNECTIONS`, `serve.yaml: limits.max_connections`.
    let place: String
    let reason: String
    /// The setting it is about; nil for the file as a whole or a key that is not a setting.
    var key: String? = nil

    var description: String { "\(place): \(reason)" }
}

/// Every problem found, one line each (`config check` prints them all; `serve` refuses to start with the first).
struct SettingProblems: Error, Sendable {
    let problems: [SettingProblem]
}

/// The effective settings of `serve`: for each, the command-line flag, else its environment variable, else the
/// configuration file, else the default. Read through swift-configuration, one snapshot per source.
struct ServeSettings: Sendable {
    enum Source: Sendable, Equatable {
        case flag, environment, file(String), defaultValue
    }

    struct Value: Sendable {
        let setting: ServeSetting
        let text: String
        let source: Source

        /// Where it came from, as an operator would look for it.
        var place: String {
            switch source {
            case .flag: "--" + (setting.flag ?? setting.key)
            case .environment: setting.environmentVariable
            case .file(let path): "\(TerminalText.field(path)): \(setting.key)"
            case .defaultValue: "the default of \(setting.key)"
            }
        }

        /// "none" for a setting that is off unless given: given, and off.
        var isNone: Bool { setting.canBeNone && text == "none" }
    }

    private let values: [String: Value]
    let file: ConfigurationFile?

    /// The value, nil when unset (or set to "none").
    subscript(key: String) -> String? {
        precondition(ServeSetting.byKey[key] != nil, "no setting \(key)")
        guard let value = values[key], !value.isNone else { return nil }
        return value.text
    }

    /// Where the setting's value came from, also when it is "none"; nil when nothing gave it.
    func value(_ key: String) -> Value? { values[key] }

    func number(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    /// Seconds; only for settings whose kind is `.duration`, which were checked.
    func seconds(_ key: String) -> Int64? { self[key].flatMap(TimeText.parseDuration) }

    /// The settings from the flags, the environment, the file at `configPath` and the defaults (or only those in
    /// `keys`); the first problem is the error, one line.
    static func load(flags: [String: ConfigContent], environment: [String: String], configPath: String?,
                     keys: Set<String>? = nil) throws -> ServeSettings {
        do {
            return try resolve(flags: flags, environment: environment, file: try ConfigurationFile.load(ifGiven: configPath), keys: keys)
        } catch let problem as SettingProblem {
            throw PortalLinksError(.invalidInput, problem.description)
        } catch let problems as SettingProblems {
            throw PortalLinksError(.invalidInput, problems.problems[0].description)
        }
    }

    /// `--config`, else `$PORTAL_LINKS_CONFIG`.
    static func configPath(_ option: String?, _ environment: [String: String]) -> String? {
        MailOptions.setting(option, "PORTAL_LINKS_CONFIG", environment)
    }

    /// Resolves every setting (or only those in `keys`); throws every problem found: unknown keys in the file,
    /// values of the wrong type or out of range, files that cannot be read, options that need one another.
    static func resolve(flags: [String: ConfigContent], environment: [String: String], file: ConfigurationFile?,
                        keys: Set<String>? = nil) throws(SettingProblems) -> ServeSettings {
        let (settings, problems) = read(flags: flags, environment: environment, file: file, keys: keys)
        guard problems.isEmpty else { throw SettingProblems(problems: problems) }
        return settings
    }

    /// Every setting that could be read, and every problem found; a reload applies what it can of both.
    static func read(flags: [String: ConfigContent], environment: [String: String], file: ConfigurationFile?,
                     keys: Set<String>? = nil) -> (ServeSettings, [SettingProblem]) {
        var problems: [SettingProblem] = []
        if let file, keys == nil {
            for key in file.keys where ServeSetting.byKey[key] == nil {
                problems.append(SettingProblem(place: "\(TerminalText.field(file.path)): \(TerminalText.field(key))", reason: "is not a setting (docs/configuration.md lists them)"))
            }
        }
        let flagSnapshot = InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map {
            (configKey($0.key), ConfigValue($0.value, isSecret: ServeSetting.byKey[$0.key]?.isSecret ?? false))
        })).snapshot()
        let secretVariables = Set(ServeSetting.all.filter(\.isSecret).map(\.environmentVariable))
        // Each setting's key becomes its environment variable's name, a single component left as it is.
        let environmentSnapshot = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment.filter { !$0.value.isEmpty },
                                                   secretsSpecifier: .specific(secretVariables)),
            keyMapper: { key in AbsoluteConfigKey([ServeSetting.byKey[key.components.joined(separator: ".")]?.environmentVariable ?? ""]) }
        ).snapshot()
        var sources: [(snapshot: any ConfigSnapshot, source: Source)] = [(flagSnapshot, .flag), (environmentSnapshot, .environment)]
        if let file { sources.append((file.snapshot, .file(file.path))) }

        var values: [String: Value] = [:]
        for setting in ServeSetting.all where keys?.contains(setting.key) ?? true {
            let key = configKey(setting.key)
            var found: Value?
            for (snapshot, source) in sources {
                // A key the file leaves empty is unset there.
                if case .file = source, file?.keys.contains(setting.key) != true { continue }
                let place = Value(setting: setting, text: "", source: source).place
                do {
                    guard let content = try snapshot.value(forKey: key, type: setting.isNumber ? .int : .string).value?.content else { continue }
                    switch content {
                    case .int(let number): found = Value(setting: setting, text: String(number), source: source)
                    case .string(let text): found = Value(setting: setting, text: text, source: source)
                    default: problems.append(SettingProblem(place: place, reason: "has the wrong type", key: setting.key))
                    }
                } catch {
                    let reason = setting.isNumber ? "has the wrong type: takes a whole number" : "has the wrong type: takes text"
                    problems.append(SettingProblem(place: place, reason: reason, key: setting.key))
                }
                if found != nil { break }
            }
            guard let found = found ?? setting.defaultValue.map({ Value(setting: setting, text: $0, source: .defaultValue) }) else { continue }
            if !found.isNone, let reason = setting.problem(with: found.text) {
                problems.append(SettingProblem(place: found.place, reason: reason, key: setting.key))
            }
            values[setting.key] = found
        }
        let settings = ServeSettings(values: values, file: file)
        return (settings, problems + settings.combinationProblems())
    }

    static func configKey(_ dotted: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(dotted.split(separator: ".").map(String.init))
    }

    /// Settings that need one another, and secrets a file others can read must not hold.
    private func combinationProblems() -> [SettingProblem] {
        var problems: [SettingProblem] = []
        func place(_ key: String) -> String { values[key]?.place ?? key }
        let hasCertificate = self["tls.cert_file"] != nil
        if hasCertificate != (self["tls.key_file"] != nil) {
            let key = hasCertificate ? "tls.cert_file" : "tls.key_file"
            problems.append(SettingProblem(place: place(key), reason: "tls.cert_file (--tls-cert) and tls.key_file (--tls-key) go together", key: key))
        }
        if self["tls.client_ca_file"] != nil, !hasCertificate {
            problems.append(SettingProblem(place: place("tls.client_ca_file"), reason: "needs tls.cert_file and tls.key_file", key: "tls.client_ca_file"))
        }
        if let file, file.isReadableByOthers, let store = values["store.url"], store.source == .file(file.path),
           (try? StoreLocation(parsing: store.text))?.hasPassword == true {
            problems.append(SettingProblem(place: store.place, reason: "holds a password in a file others can read: use store.password_file, or chmod 600 \(TerminalText.field(file.path))", key: "store.url"))
        }
        return problems
    }

    /// The environment the installation, the store and the mail options read: `base` with every setting given
    /// by a flag, the environment or the file under its variable's name, and the secret files' contents where
    /// those are expected ($PGPASSWORD, $PORTAL_LINKS_MASTER_KEY) unless the environment gives the secret itself.
    func environment(over base: [String: String]) throws -> [String: String] {
        var environment = base
        for (_, value) in values where value.source != .defaultValue {
            environment[value.setting.environmentVariable] = value.isNone ? nil : value.text
        }
        for (key, variable) in [("store.password_file", "PGPASSWORD"), ("master_key_file", "PORTAL_LINKS_MASTER_KEY")]
        where base[variable]?.isEmpty ?? true {
            if let file = self[key], let value = values[key] { environment[variable] = try SecretFile.read(file, for: value.place) }
        }
        return environment
    }
}
