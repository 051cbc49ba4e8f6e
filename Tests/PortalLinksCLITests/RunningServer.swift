import Foundation
import PortalLinksTesting

/// `portal-links serve` on a free loopback port of the CLI's home; stopped (or killed) by the test.
final class RunningServer {
    let process: Process
    let port: Int
    /// The HTTP gateway's port.
    let httpPort: Int
    /// What serve printed up to and including "listening on": the home, the store (standard error), and a new
    /// store's welcome (standard output, written before the address).
    let startupLines: [String]

    init(_ cli: CLI, arguments: [String] = []) async throws {
        let process = cli.process(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-level", "warning"] + arguments)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        self.process = process
        let reader = err.fileHandleForReading
        // Read on a thread of its own: the wait for the server to start must not hold a Swift concurrency thread.
        let seen = try await Subprocess.onThread {
            var seen = ""
            while !seen.contains("listening on") {
                let chunk = reader.availableData
                guard !chunk.isEmpty else { throw CLIError(message: "serve stopped: \(seen)") }
                seen += String(decoding: chunk, as: UTF8.self)
            }
            return seen
        }
        let line = seen.split(separator: "\n").first { $0.contains("listening on") }!
        guard let port = Int(line.split(separator: ":").last!.prefix { $0.isNumber }) else {
            throw CLIError(message: "no port in: \(line)")
        }
        self.port = port
        let httpLine = seen.split(separator: "\n").first { $0.contains("HTTP gateway on") }
        httpPort = httpLine.flatMap { Int($0.split(separator: ":").last!.prefix { $0.isNumber }) } ?? 0
        startupLines = seen.split(separator: "\n").map(String.init) + Self.pending(out).split(separator: "\n").map(String.init)
    }

    /// What is in the pipe already, without waiting for more.
    private static func pending(_ pipe: Pipe) -> String {
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            text += String(decoding: buffer[..<count], as: UTF8.self)
        }
        return text
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
