import Foundation
import PortalLinksFuzzChecks
import PortalLinksTesting
import Testing

/// Fuzz/Corpus/TARGET holds each fuzz target's seeds and every input that once broke a check (named
/// finding-*): all of them must pass the checks, so a finding fixed once stays fixed.
@Suite struct CorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/Corpus").standardized

    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    static func finding(in bytes: [UInt8], _ check: (UnsafeRawBufferPointer) throws(FuzzFinding) -> Void) -> FuzzFinding? {
        bytes.withUnsafeBytes { buffer in
            do throws(FuzzFinding) {
                try check(buffer)
                return nil
            } catch {
                return error
            }
        }
    }

    static func run(_ target: String, minimum: Int, _ check: (UnsafeRawBufferPointer) throws(FuzzFinding) -> Void) throws {
        let inputs = try inputs(target)
        #expect(inputs.count >= minimum, "Fuzz/Corpus/\(target) has \(inputs.count) inputs")
        for input in inputs {
            if let finding = finding(in: input.bytes, check) { Issue.record("Fuzz/Corpus/\(target)/\(input.name): \(finding)") }
        }
    }

    @Test func frames() throws {
        try Self.run("frames", minimum: 5, FrameChecks.check)
    }

    @Test func tokens() throws {
        let checks = try TokenChecks()
        try Self.run("tokens", minimum: 5, checks.check)
    }

    @Test func csv() throws {
        try Self.run("csv", minimum: 3, CSVChecks.check)
    }

    @Test func requests() async throws {
        let checks = try await RequestChecks.start()
        let inputs = try Self.inputs("requests")
        #expect(inputs.count >= 11, "Fuzz/Corpus/requests has \(inputs.count) inputs")
        // The checks block on their socket: off the cooperative pool, which the server's own tasks need.
        let findings = try await Subprocess.onThread {
            try checks.prepare()
            return inputs.compactMap { input in
                Self.finding(in: input.bytes, checks.check).map { "Fuzz/Corpus/requests/\(input.name): \($0)" }
            }
        }
        await checks.stop()
        for finding in findings { Issue.record(Comment(rawValue: finding)) }
    }
}
