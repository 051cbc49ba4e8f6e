import Foundation
import Synchronization

/// What a finished child process wrote and how it ended.
public struct SubprocessOutput: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data
}

/// Runs a child process to its end without holding one of Swift concurrency's threads meanwhile.
///
/// The test run shares a cooperative pool as wide as the machine has cores (two here). A test that blocked in
/// `waitUntilExit` or a pipe read would hold a pool thread for the child's whole life, and a few such tests at
/// once stall every other suite's clients, timers and connection pools for seconds: the waiting happens on
/// threads of its own instead.
public enum Subprocess {
    /// Starts `executable` with `arguments`, writes `input` (when given) to its standard input, and returns its
    /// status and output once it exits. Standard error is captured apart unless `mergeStderr`.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           input: Data? = nil, mergeStderr: Bool = false) async throws -> SubprocessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        return try await run(process, input: input, mergeStderr: mergeStderr)
    }

    /// Runs a process already configured (its standard output and error are replaced by pipes read here).
    public static func run(_ process: Process, input: Data? = nil, mergeStderr: Bool = false) async throws -> SubprocessOutput {
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = mergeStderr ? out : err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let exited = Exit()
        process.terminationHandler = { exited.signal($0.terminationStatus) }
        try process.run()
        // Both pipes are read at once, each on its own thread, so that neither fills while the other is read.
        async let stdout = read(out)
        async let stderr = mergeStderr ? Data() : read(err)
        if let input {
            let writer = stdin.fileHandleForWriting
            try await onThread { writer.write(input); try writer.close() }
        }
        let (output, errors) = try await (stdout, stderr)
        return SubprocessOutput(status: await exited.status(), stdout: output, stderr: errors)
    }

    private static func read(_ pipe: Pipe) async throws -> Data {
        let handle = pipe.fileHandleForReading
        return try await onThread { handle.readDataToEndOfFile() }
    }

    /// Runs blocking `work` on a new thread and resumes with its result.
    public static func onThread<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Swift.Result { try work() }) }
        }
    }

    /// The exit status, delivered by the termination handler whenever it runs.
    private final class Exit: Sendable {
        private let state = Mutex<(status: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))

        func signal(_ status: Int32) {
            let waiter = state.withLock { state in
                state.status = status
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: status)
        }

        func status() async -> Int32 {
            await withCheckedContinuation { continuation in
                let known = state.withLock { state in
                    if state.status == nil { state.waiter = continuation }
                    return state.status
                }
                if let known { continuation.resume(returning: known) }
            }
        }
    }
}
