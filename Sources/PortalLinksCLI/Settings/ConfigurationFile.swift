import Configuration
import Foundation
import PortalLinks
import Yams

/// A configuration file for `serve`: JSON (.json) or YAML (.yaml, .yml), read through swift-configuration's
/// providers. The keys it holds are listed separately, so that a key nothing reads is an error rather than a typo
/// that silently changes nothing.
struct ConfigurationFile: Sendable {
    let path: String
    /// The values, parsed by swift-configuration's JSON or YAML snapshot from the same bytes as `keys`.
    let snapshot: any ConfigSnapshot
    /// Every leaf key, dotted: `limits.max_connections`.
    let keys: [String]
    /// Others may read the file: then it must not hold a secret.
    let isReadableByOthers: Bool
    /// Holds nothing but comments, or nothing at all.
    var isEmpty: Bool { keys.isEmpty }

    /// Reads and parses `path` once; one problem naming the file when it cannot be.
    static func load(_ path: String) throws(SettingProblem) -> ConfigurationFile {
        let name = TerminalText.field(path)
        var status = stat()
        guard stat(path, &status) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw SettingProblem(place: name, reason: "cannot be read")
        }
        let isYAML = path.hasSuffix(".yaml") || path.hasSuffix(".yml")
        guard isYAML || path.hasSuffix(".json") else {
            throw SettingProblem(place: name, reason: "is neither .json nor .yaml (or .yml)")
        }
        let tree: Any?
        do {
            tree = isYAML ? try Yams.load(yaml: String(decoding: data, as: UTF8.self))
                          : try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            // The parser's first line says where; later lines would quote the file.
            let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            let reason = text.split(whereSeparator: \.isNewline).first.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ": ")) } ?? text
            throw SettingProblem(place: name, reason: "is not valid \(isYAML ? "YAML" : "JSON"): \(reason)")
        }
        guard tree == nil || tree is [String: Any] else {
            throw SettingProblem(place: name, reason: "must hold a mapping of keys to values at its top")
        }
        let isReadableByOthers = status.st_mode & 0o077 != 0
        guard let mapping = tree as? [String: Any] else {
            return ConfigurationFile(path: path, snapshot: InMemoryProvider(values: [:]).snapshot(), keys: [], isReadableByOthers: isReadableByOthers)
        }
        let snapshot: any ConfigSnapshot
        do {
            // Marked secret, so that swift-configuration never prints them either.
            let secrets = Set(ServeSetting.all.filter(\.isSecret).map(\.key))
            snapshot = isYAML
                ? try YAMLSnapshot(data: data.bytes, providerName: path, parsingOptions: .init(secretsSpecifier: .specific(secrets)))
                : try JSONSnapshot(data: data.bytes, providerName: path, parsingOptions: .init(secretsSpecifier: .specific(secrets)))
        } catch {
            throw SettingProblem(place: name, reason: "cannot be read as configuration: \(error)")
        }
        return ConfigurationFile(path: path, snapshot: snapshot, keys: Self.leafKeys(mapping), isReadableByOthers: isReadableByOthers)
    }

    static func load(ifGiven path: String?) throws(SettingProblem) -> ConfigurationFile? {
        guard let path else { return nil }
        return try load(path)
    }

    /// Keys of the values in a parsed file, nested mappings joined with dots. An empty value counts as absent.
    static func leafKeys(_ mapping: [String: Any], prefix: String = "") -> [String] {
        mapping.keys.sorted().flatMap { name -> [String] in
            let key = prefix + name
            switch mapping[name] {
            case let nested as [String: Any]: return leafKeys(nested, prefix: key + ".")
            case is NSNull, nil: return []
            default: return [key]
            }
        }
    }
}
