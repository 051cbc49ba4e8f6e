import ArgumentParser
import Foundation
import PortalLinks

/// `config check` and `config show`: serve's configuration file, judged and explained without starting anything.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check serve's configuration file, or show the settings serve would run with (docs/configuration.md).",
        subcommands: [Check.self, Show.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a configuration file: every problem (unknown key, wrong type, out of range, unreadable file) one line each, exit 1.",
            discussion: "The file is judged on its own, without the environment's settings; files it names must be readable here.")

        @Argument(help: ArgumentHelp("A .json, .yaml or .yml file.", valueName: "FILE"))
        var file: String

        func run() async throws {
            let problems: [SettingProblem]
            do {
                let loaded = try ConfigurationFile.load(file)
                _ = try ServeSettings.resolve(flags: [:], environment: [:], file: loaded)
                print("\(TerminalText.field(file)): ok, \(loaded.keys.count) settings")
                return
            } catch let problem as SettingProblem {
                problems = [problem]
            } catch let error as SettingProblems {
                problems = error.problems
            }
            for problem in problems { FileHandle.standardError.write(Data("portal-links: \(problem)\n".utf8)) }
            throw ExitCode(1)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the settings serve would run with, each with where it comes from; secrets redacted.",
            discussion: "Reads the environment and the file as serve would; serve's flags, which win over both, are not read here.")

        @Option(help: ArgumentHelp("The configuration file (default: $PORTAL_LINKS_CONFIG).", valueName: "FILE"))
        var config: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let settings = try ServeSettings.load(flags: [:], environment: environment,
                                                  configPath: ServeSettings.configPath(config, environment))
            var rows = [["KEY", "VALUE", "FROM"]]
            for setting in ServeSetting.all {
                guard let value = settings.value(setting.key) else {
                    rows.append([setting.key, "-", "unset: \(setting.unsetMeaning)"])
                    continue
                }
                let shown = setting.isSecret && (try? StoreLocation(parsing: value.text))?.hasPassword == true
                    ? "(redacted: holds a password)" : TerminalText.field(value.text)
                rows.append([setting.key, value.isNone ? "- (none)" : shown, value.source == ServeSettings.Source.defaultValue ? "default" : value.place])
            }
            let widths = (0..<2).map { column in rows.map { $0[column].count }.max()! }
            for row in rows {
                print(row[0].padding(toLength: widths[0] + 2, withPad: " ", startingAt: 0)
                      + row[1].padding(toLength: widths[1] + 2, withPad: " ", startingAt: 0) + row[2])
            }
        }
    }
}
