import Foundation
import PortalLinksTesting
import Testing

/// Runs the built `portal-links` binary in a home directory of its own, as staff would.
struct CLI {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `PORTAL_LINKS_BIN` when set (the Makefile sets it), else the debug build.
    static var binary: String {
        ProcessInfo.processInfo.environment["PORTAL_LINKS_BIN"]
            ?? packageRoot.appendingPathComponent(".build/debug/portal-links").path
    }

    let home: String

    init() {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("portal-links-cli-\(UUID().uuidString)").path
    }

    func remove() {
        Capture.secret(try? String(contentsOfFile: home + "/master.key", encoding: .utf8), kind: "master-key")
        try? FileManager.default.removeItem(atPath: home)
    }

    /// The binary with `arguments`, in this home, not yet started; its standard input is empty.
    func process(_ arguments: [String], environment extra: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PORTAL_LINKS_") }
        environment["PORTAL_LINKS_HOME"] = home
        environment["PORTAL_LINKS_ACTOR"] = "cli-test"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        return process
    }

    @discardableResult
    func run(_ arguments: String..., environment: [String: String] = [:]) async throws -> Output {
        try await run(arguments, environment: environment)
    }

    /// `input`, when given, is the process's standard input.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw CLIError(message: "\(Self.binary) is missing: build it first (make test does)")
        }
        let result = try await Subprocess.run(process(arguments, environment: environment), input: input.map { Data($0.utf8) })
        let output = Output(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
                            stderr: String(decoding: result.stderr, as: UTF8.self))
        Capture.record(arguments: arguments, input: input, output: output)
        return output
    }

    func json(_ arguments: String...) async throws -> Any { try await json(arguments) }

    func json(_ arguments: [String]) async throws -> Any {
        let output = try await run(arguments)
        #expect(output.status == 0, "\(arguments): \(output.stderr)")
        return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    /// Expects one clear line on stderr, the given status and nothing on stdout.
    func expectOneLineError(_ arguments: [String], status: Int32, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let output = try await run(arguments)
        #expect(output.status == status, "\(arguments) exited \(output.status)", sourceLocation: sourceLocation)
        #expect(output.stderrLines.count == 1, "\(arguments) wrote: \(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.hasPrefix("portal-links: "), sourceLocation: sourceLocation)
        #expect(output.stdout.isEmpty, "\(arguments) printed: \(output.stdout)", sourceLocation: sourceLocation)
    }
}

struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// What each command was given or printed for staff (links, API keys, passwords) goes to the capture folder's
/// secrets, and what must hold none (standard error; the audit log, ledger, keys, accounts and callers as listed)
/// to its output (`Capture`, for make test's scan for secrets).
extension Capture {
    /// Commands whose standard output shows stored state, which must never hold a secret.
    static let listings: Set<String> = ["audit", "links", "keys", "accounts", "clients", "revoke"]
    static let secretShapes = try! NSRegularExpression(pattern: "plk_[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{40,}")

    static func record(arguments: [String], input: String?, output: CLI.Output) {
        guard folder != nil else { return }
        let name = UUID().uuidString
        let stdoutIsListing = listings.contains(arguments.first ?? "") || arguments.starts(with: ["callers", "list"])
        var secrets = shapes(in: arguments.joined(separator: " ")) + (input.map { $0.split(separator: "\n").map(String.init) } ?? [])
        if !stdoutIsListing { secrets += shapes(in: output.stdout) }
        write(secrets.joined(separator: "\n"), to: "secrets/cli-\(name)")
        write(output.stderr + (stdoutIsListing ? output.stdout : ""), to: "output/cli-\(name)")
    }

    /// Temporary paths hold UUIDs, which are no secret.
    static let uuid = try! NSRegularExpression(pattern: "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

    static func shapes(in text: String) -> [String] {
        secretShapes.matches(in: text, range: NSRange(text.startIndex..., in: text))
            .map { String(text[Range($0.range, in: text)!]) }
            .filter { uuid.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) == nil }
            // Tokens mix cases; names of databases and folders rarely do.
            .filter { $0.hasPrefix("plk_") || ($0.contains(where: \.isUppercase) && $0.contains(where: \.isLowercase)) }
    }
}
