import Foundation

/// `portal-links serve` on a free loopback port of the CLI's home; stopped (or killed) by the test.
final class RunningServer {
    let process: Process
    let port: Int
    /// What serve printed up to and including "listening on": the home, the store, a new store's welcome.
    let startupLines: [String]

    init(_ cli: CLI, arguments: [String] = []) throws {
        let (process, _, err) = cli.process(["serve", "--listen", "127.0.0.1:0", "--log-level", "warning"] + arguments)
        try process.run()
        self.process = process
        var seen = ""
        let reader = err.fileHandleForReading
        while !seen.contains("listening on") {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { throw CLIError(message: "serve stopped: \(seen)") }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        let line = seen.split(separator: "\n").first { $0.contains("listening on") }!
        guard let port = Int(line.split(separator: ":").last!.prefix { $0.isNumber }) else {
            throw CLIError(message: "no port in: \(line)")
        }
        self.port = port
        startupLines = seen.split(separator: "\n").map(String.init)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Kills the server outright (SIGKILL): no shutdown and no flush, as in a crash.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
