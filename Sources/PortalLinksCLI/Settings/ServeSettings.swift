import Configuration
import Foundation
import PortalLinks

/// A setting's problem, as one line: where the value came from, and why it is refused.
struct SettingProblem: Error, CustomStringConvertible, Sendable {
    /// `--max-connections`, `PORTAL_LINKS_MAX_CONNECTIONS`, `serve.yaml: limits.max_connections`.
    let place: String
    let reason: String

    var description: String { "\(place): \(reason)" }
}

/// Every problem found, one line each (`config check` prints them all; `serve` refuses to start with the first).
struct SettingProblems: Error, Sendable {
    let problems: [SettingProblem]
}

/// The effective settings of `serve`: for each, the command-line flag, else its environment variable, else the
/// configuration file, else the default. Read through swift-configuration's providers, one per source.
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
    }

    private let values: [String: Value]
    let file: ConfigurationFile?

    subscript(key: String) -> String? {
        precondition(ServeSetting.byKey[key] != nil, "no setting \(key)")
        return values[key]?.text
    }

    func value(_ key: String) -> Value? { values[key] }

    func number(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    /// Seconds; only for settings whose kind is `.duration`, which were checked.
    func seconds(_ key: String) -> Int64? { self[key].flatMap(TimeText.parseDuration) }

    /// Resolves every setting; throws every problem found: unknown keys in the file, values of the wrong type or
    /// out of range, files that cannot be read, options that need one another.
    static func resolve(flags: [String: ConfigContent], environment: [String: String],
                        file: ConfigurationFile?) throws(SettingProblems) -> ServeSettings {
        var problems: [SettingProblem] = []
        if let file {
            for key in file.keys where ServeSetting.byKey[key] == nil {
                problems.append(SettingProblem(place: "\(TerminalText.field(file.path)): \(TerminalText.field(key))", reason: "is not a setting (docs/configuration.md lists them)"))
            }
        }
        let flagProvider = InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map {
            (Self.configKey($0.key), ConfigValue($0.value, isSecret: ServeSetting.byKey[$0.key]?.isSecret ?? false))
        }))
        let secretVariables = Set(ServeSetting.all.filter(\.isSecret).map(\.environmentVariable))
        // Each setting's key becomes its environment variable's name, a single component left as it is.
        let environmentProvider = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment.filter { !$0.value.isEmpty },
                                                   secretsSpecifier: .specific(secretVariables)),
            keyMapper: { key in AbsoluteConfigKey([ServeSetting.byKey[key.components.joined(separator: ".")]?.environmentVariable ?? ""]) })
        var sources: [(provider: any ConfigProvider, source: Source)] = [(flagProvider, .flag), (environmentProvider, .environment)]
        if let file { sources.append((file.provider, .file(file.path))) }

        var values: [String: Value] = [:]
        for setting in ServeSetting.all {
            let key = Self.configKey(setting.key)
            var found: Value?
            for (provider, source) in sources {
                // A key the file leaves empty is unset there.
                if case .file = source, file?.keys.contains(setting.key) != true { continue }
                let place = Value(setting: setting, text: "", source: source).place
                do {
                    guard let content = try provider.value(forKey: key, type: setting.isNumber ? .int : .string).value?.content else { continue }
                    switch content {
                    case .int(let number): found = Value(setting: setting, text: String(number), source: source)
                    case .string(let text): found = Value(setting: setting, text: text, source: source)
                    default: problems.append(SettingProblem(place: place, reason: "has the wrong type"))
                    }
                } catch {
                    problems.append(SettingProblem(place: place, reason: setting.isNumber ? "has the wrong type: takes a whole number" : "has the wrong type: takes text"))
                }
                if found != nil { break }
            }
            guard let found = found ?? setting.defaultValue.map({ Value(setting: setting, text: $0, source: .defaultValue) }) else { continue }
            if let reason = setting.problem(with: found.text) {
                problems.append(SettingProblem(place: found.place, reason: reason))
            }
            values[setting.key] = found
        }
        let settings = ServeSettings(values: values, file: file)
        problems += settings.combinationProblems()
        guard problems.isEmpty else { throw SettingProblems(problems: problems) }
        return settings
    }

    static func configKey(_ dotted: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(dotted.split(separator: ".").map(String.init))
    }

    /// Settings that need one another, and secrets a file others can read must not hold.
    private func combinationProblems() -> [SettingProblem] {
        var problems: [SettingProblem] = []
        func place(_ key: String) -> String { values[key]?.place ?? key }
        if (values["tls.cert_file"] == nil) != (values["tls.key_file"] == nil) {
            problems.append(SettingProblem(place: place(values["tls.cert_file"] == nil ? "tls.key_file" : "tls.cert_file"),
                                           reason: "tls.cert_file (--tls-cert) and tls.key_file (--tls-key) go together"))
        }
        if values["tls.client_ca_file"] != nil, values["tls.cert_file"] == nil {
            problems.append(SettingProblem(place: place("tls.client_ca_file"), reason: "needs tls.cert_file and tls.key_file"))
        }
        if let file, file.isReadableByOthers, let store = values["store.url"], store.source == .file(file.path),
           (try? StoreLocation(parsing: store.text))?.hasPassword == true {
            problems.append(SettingProblem(place: store.place, reason: "holds a password in a file others can read: use store.password_file, or chmod 600 \(TerminalText.field(file.path))"))
        }
        return problems
    }

    /// The environment the installation, the store and the mail options read, with every setting given by a flag,
    /// the environment or the file under its variable's name, and the secret files' contents where those are
    /// expected ($PGPASSWORD, $PORTAL_LINKS_MASTER_KEY).
    func environment(over base: [String: String]) throws -> [String: String] {
        var environment = base
        for (_, value) in values where value.source != .defaultValue {
            environment[value.setting.environmentVariable] = value.text
        }
        if let file = self["store.password_file"] { environment["PGPASSWORD"] = try MailOptions.readSecret(file) }
        if let file = self["master_key_file"] { environment["PORTAL_LINKS_MASTER_KEY"] = try MailOptions.readSecret(file) }
        return environment
    }
}
