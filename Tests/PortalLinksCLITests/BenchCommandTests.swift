import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `portal-links bench --connect` against a real `portal-links serve`, both run as staff and load-testers would.
@Suite(.timeLimit(.minutes(1))) struct BenchCommandTests {
    @Test func aMixedRunCountsEveryCallAndReportsLatencies() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let key = try await cli.run("callers", "add", "loadtest", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let metricsPort = try freeLoopbackPort()
        let server = try await RunningServer(cli, arguments: ["--metrics", "127.0.0.1:\(metricsPort)"])
        defer { server.stop() }
        let report = try #require(try await cli.json(
            "bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-c", "3", "-P", "8",
            "-n", "3000", "--mix", "valid=80,expired=10,forged=10", "--warmup", "0s",
            "--threads", "1", "--format", "json") as? [String: Any])
        #expect(report["requests"] as? Int == 3000, "exactly -n calls are counted")
        #expect(report["errors"] as? Int == 0, "expired and forged links are answered OK with valid = false")
        #expect((report["statuses"] as? [String: Int])?["OK"] == 3000)
        let latency = try #require(report["latency_us"] as? [String: Double])
        let order = ["min", "p50", "p90", "p99", "p99_9", "max"].compactMap { latency[$0] }
        #expect(order.count == 6 && order == order.sorted() && order[0] > 0, "\(latency)")

        // The server saw the mix asked for: each call carried a whole token of its kind, none malformed. One
        // more valid link is the check, before the run, that the server accepts the bench's links.
        let results = try await verifyResults(metricsPort: metricsPort)
        #expect(results.values.reduce(0, +) == 3001, "\(results)")
        #expect((2_250...2_550).contains(results["valid", default: 0]), "\(results)")
        #expect((200...400).contains(results["expired", default: 0]), "\(results)")
        #expect((200...400).contains(results["bad_signature", default: 0]), "\(results)")
        #expect(results["malformed", default: 0] == 0, "\(results)")
    }

    /// A generator elsewhere: the tokens file from staff (0600) is all it needs besides a key; without one, a
    /// key with the issue scope gets valid links from the server, and what no source can give is one error.
    @Test func aGeneratorWithoutTheHomeUsesTheTokensFileOrTheServersLinks() async throws {
        let staff = CLI(), generator = CLI()
        defer { staff.remove(); generator.remove() }
        let key = try await staff.run("callers", "add", "loadtest", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let issuer = try await staff.run("callers", "add", "issuer", "--scopes", "verify,issue").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = staff.home + "/tokens.json"
        let written = try await staff.run("bench", "tokens", "--out", file, "--count", "20", "--sessions", "1")
        #expect(written.status == 0, "\(written.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the tokens file is secret material")
        let server = try await RunningServer(staff)
        defer { server.stop() }
        let target = "127.0.0.1:\(server.port)"
        let fromFile = try #require(try await generator.json(
            "bench", "--connect", target, "--api-key", key, "--tokens", file, "-c", "2", "-n", "400", "--warmup", "0s", "--threads", "1",
            "--mix", "valid=40,expired=20,forged=20,malformed=20", "--format", "json") as? [String: Any])
        #expect(fromFile["requests"] as? Int == 400 && fromFile["errors"] as? Int == 0)
        let fromServer = try #require(try await generator.json(
            "bench", "--connect", target, "--api-key", issuer, "-c", "2", "-n", "400", "--warmup", "0s", "--threads", "1",
            "--mix", "valid=50,forged=25,malformed=25", "--format", "json") as? [String: Any])
        #expect(fromServer["requests"] as? Int == 400)
        try await generator.expectOneLineError(["bench", "--connect", target, "--api-key", issuer, "-n", "10", "--mix", "valid=50,expired=50"], status: 1)
        #expect(try await generator.run("bench", "--connect", target, "--api-key", issuer, "-n", "10", "--mix", "valid=50,expired=50")
            .stderr.contains("expired"))
        try await generator.expectOneLineError(["bench", "--connect", target, "--api-key", key, "-n", "10"], status: 1)  // no issue scope
        #expect(!FileManager.default.fileExists(atPath: generator.home), "the generator made no home")
    }

    /// Sessions.Verify load: from the home (an account made for the run and removed after it) or from a
    /// tokens file on a machine without the home; with neither, one error saying where session tokens come from.
    @Test func sessionsVerifyLoadFromTheHomeOrTheTokensFile() async throws {
        let staff = CLI(), generator = CLI()
        defer { staff.remove(); generator.remove() }
        let key = try await staff.run("callers", "add", "portal", "--scopes", "verify,accounts").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = staff.home + "/tokens.json"
        #expect(try await staff.run("bench", "tokens", "--out", file, "--count", "5", "--sessions", "2").status == 0)
        let server = try await RunningServer(staff)
        defer { server.stop() }
        let target = "127.0.0.1:\(server.port)"
        let accountsBefore = try await staff.run("accounts", "list").stdout
        let fromHome = try #require(try await staff.json(
            "bench", "--connect", target, "--api-key", key, "--method", "sessions-verify", "-c", "2", "-n", "300", "--warmup", "0s",
            "--threads", "1", "--format", "json") as? [String: Any])
        #expect(fromHome["method"] as? String == "Sessions.Verify" && fromHome["requests"] as? Int == 300)
        #expect((fromHome["answers"] as? [String: Int]) == ["valid": 300], "every session verified valid")
        #expect(try await staff.run("accounts", "list").stdout == accountsBefore, "the run's own account is gone")
        let fromFile = try #require(try await generator.json(
            "bench", "--connect", target, "--api-key", key, "--method", "sessions-verify", "--tokens", file, "-c", "2", "-n", "300",
            "--warmup", "0s", "--threads", "1", "--format", "json") as? [String: Any])
        #expect((fromFile["answers"] as? [String: Int]) == ["valid": 300])
        try await generator.expectOneLineError(["bench", "--connect", target, "--api-key", key, "--method", "sessions-verify", "-n", "10"], status: 1)
        try await generator.expectOneLineError(["bench", "--connect", target, "--api-key", key, "--method", "sessions-verify",
                                                "--mix", "valid=50,forged=50", "-n", "10"], status: 2)
    }

    /// What bench merge and bench compare are given may be anything: one line naming the file and what is wrong.
    /// The gateway's doors loaded with the same tokens file from a machine without the home: every answer is
    /// counted by what it said, so each kind sent comes back as its own reason through Connect JSON and through
    /// forward auth (whose 401s are answers, not errors), pipelined; a failed call is an error; and a run
    /// through each door compares with one through the binary door.
    @Test func theGatewaysDoorsAnswerTheMixAsTheBinaryDoorDoes() async throws {
        let staff = CLI(), generator = CLI()
        defer { staff.remove(); generator.remove() }
        let key = try await staff.run("callers", "add", "loadtest", "--scopes", "verify,accounts").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let verifyOnly = try await staff.run("callers", "add", "verifier", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = staff.home + "/tokens.json"
        #expect(try await staff.run("bench", "tokens", "--out", file, "--count", "20", "--sessions", "2").status == 0)
        let server = try await RunningServer(staff)
        defer { server.stop() }
        let gateway = "http://127.0.0.1:\(server.httpPort)"
        func run(_ arguments: String...) async throws -> [String: Any] {
            try #require(try await generator.json(["bench"] + arguments + ["--tokens", file, "-c", "2", "-P", "4", "-n", "400",
                                                                          "--warmup", "0s", "--threads", "1", "--format", "json"]) as? [String: Any])
        }
        let mix = "valid=40,expired=20,forged=20,malformed=20"
        var runs: [String: String] = [:]
        for (door, url, method) in [("connect", gateway, "Links.Verify"), ("forward-auth", gateway + "/auth/link", "forward auth /auth/link")] {
            let report = try await run("--http", url, "--api-key", key, "--mix", mix)
            #expect(report["transport"] as? String == "http" && report["method"] as? String == method && report["target"] as? String == url)
            #expect(report["requests"] as? Int == 400 && report["errors"] as? Int == 0, "\(door): \(report["statuses"] ?? "")")
            let sent = try #require(report["sent_by_kind"] as? [String: Int]), answers = try #require(report["answers"] as? [String: Int])
            #expect(sent.count == 4 && sent.values.reduce(0, +) == 400, "\(door): \(sent)")
            #expect(answers == ["valid": sent["valid"]!, "expired": sent["expired"]!, "bad_signature": sent["forged"]!, "malformed": sent["malformed"]!],
                    "\(door): sent \(sent), answered \(answers)")
            runs[door] = generator.home + "-\(door).json"
            try BenchRunText.write(report, to: runs[door]!)
        }
        for url in [gateway + "/auth/session", gateway] {
            let report = try await run("--http", url, "--api-key", key, "--method", "sessions-verify")
            #expect(report["answers"] as? [String: Int] == ["valid": 400], "\(url): \(report["answers"] ?? "")")
        }
        // Sessions.Verify needs the accounts scope: each call fails (Connect's permission_denied is HTTP 403).
        let refused = try await run("--http", gateway, "--api-key", verifyOnly, "--method", "sessions-verify")
        #expect(refused["errors"] as? Int == 400 && refused["statuses"] as? [String: Int] == ["HTTP 403": 400], "\(refused)")
        try await generator.expectOneLineError(["bench", "--http", gateway + "/auth/link", "--api-key", "plk_wrong", "--tokens", file, "-n", "10"], status: 1)
        try await generator.expectOneLineError(["bench", "--http", gateway + "/elsewhere", "--api-key", key, "-n", "10"], status: 2)

        let binary = try await run("--connect", "127.0.0.1:\(server.port)", "--api-key", key, "--mix", mix)
        let binaryRun = generator.home + "-binary.json"
        try BenchRunText.write(binary, to: binaryRun)
        let comparison = try await generator.run("bench", "compare", binaryRun, runs["forward-auth"]!)
        #expect(comparison.status == 0, "\(comparison.stderr)")
        #expect(comparison.stdout.contains("Links.Verify over binary") && comparison.stdout.contains("forward auth /auth/link over http"),
                "\(comparison.stdout)")
        #expect(!FileManager.default.fileExists(atPath: generator.home), "the generator made no home")
        for path in Array(runs.values) + [binaryRun] { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func mergeAndCompareRefuseWhatIsNotARun() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let notJSON = cli.home + "/not-json.json", notARun = cli.home + "/not-a-run.json"
        try "HISTFAAA".write(toFile: notJSON, atomically: true, encoding: .utf8)
        try #"{"requests": 3, "histogram": "HISTFAAAACR4nJNpmSzMwMDAzAABTFCaEYh5f7hHMNh/gAg0s3MBAFsqBLQ="}"#
            .write(toFile: notARun, atomically: true, encoding: .utf8)
        for arguments in [["bench", "merge", cli.home + "/missing.json"], ["bench", "merge", notJSON], ["bench", "merge", notARun],
                          ["bench", "compare", notARun, notJSON]] {
            try await cli.expectOneLineError(arguments, status: 1)
        }
        #expect(try await cli.run("bench", "merge", notARun).stderr.contains("not-a-run.json"))
        try await cli.expectOneLineError(["bench", "compare", notARun], status: 2)
    }

    @Test func batchesCountEveryCallAndRefuseAnOpenLoop() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let key = try await cli.run("callers", "add", "loadtest", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try await RunningServer(cli)
        defer { server.stop() }
        // 3,000 is not a multiple of 3 connections × 16: the last batches are partial, and still every call counts once.
        let report = try #require(try await cli.json(
            "bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-c", "3", "-P", "16",
            "-n", "3000", "--batches", "--mix", "valid=90,forged=10", "--warmup", "0s",
            "--threads", "1", "--format", "json") as? [String: Any])
        #expect(report["requests"] as? Int == 3000)
        #expect((report["statuses"] as? [String: Int])?["OK"] == 3000)
        let timed = try await cli.run("bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-c", "2", "-P", "4",
                                "-z", "1s", "--batches", "--warmup", "0s", "--threads", "1", "--format", "json")
        #expect(timed.status == 0, "\(timed.stderr)")
        try await cli.expectOneLineError(["bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-n", "10",
                                    "--batches", "--rps", "100"], status: 2)
    }

    /// With --rps each call goes out at its intended time and is timed from it: a server that answers in well
    /// under the interval between calls shows latencies well under that interval, not the schedule's own lag.
    @Test func anOpenLoopSendsEachCallOnTime() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let key = try await cli.run("callers", "add", "loadtest", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try await RunningServer(cli)
        defer { server.stop() }
        // 10 calls a second on one connection: 100 ms apart, so that the check holds on a machine busy with
        // every other suite (a schedule that lagged would add its lag to every later call).
        let report = try #require(try await cli.json(
            "bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-c", "1", "-n", "20",
            "--rps", "10", "--warmup", "0s", "--threads", "1", "--format", "json") as? [String: Any])
        #expect(report["requests"] as? Int == 20)
        let latency = try #require(report["latency_us"] as? [String: Double])
        #expect(try #require(latency["p50"]) < 50_000, "calls were sent late or timed from the wrong moment: \(latency)")
        let seconds = try #require(report["duration_s"] as? Double)
        #expect(seconds > 1.8, "20 calls at 10/s take about two seconds: \(seconds)")
    }

    @Test func signInsAlongsideAreCountedAndTheirAccountRemoved() async throws {
        let cli = CLI()
        defer { cli.remove() }
        let key = try await cli.run("callers", "add", "loadtest", "--scopes", "verify,accounts").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Normal priority: the test suites load the machine, and idle-priority hashes could all wait past the run.
        let server = try await RunningServer(cli, arguments: ["--hash-priority", "normal"])
        defer { server.stop() }
        let report = try #require(try await cli.json(
            "bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-c", "2", "-z", "2s",
            "--warmup", "0s", "--sign-ins", "5", "--threads", "1", "--format", "json") as? [String: Any])
        let signIns = try #require(report["sign_ins"] as? [String: Any])
        #expect((signIns["succeeded"] as? Int ?? 0) >= 1, "\(signIns)")
        #expect((signIns["failed"] as? [String: Int])?.isEmpty == true, "\(signIns)")
        #expect((try await cli.json("accounts", "list", "--json") as? [Any])?.isEmpty == true, "the bench account is removed")
        // Without the accounts scope: one line, before any load.
        let verifyOnly = try await cli.run("callers", "add", "verifier").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await cli.expectOneLineError(["bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", verifyOnly, "-n", "10",
                                    "--warmup", "0s", "--sign-ins", "5"], status: 1)
        #expect((try await cli.json("accounts", "list", "--json") as? [Any])?.isEmpty == true)
    }

    @Test func aRefusedAPIKeyIsOneLineAndNonZero() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("callers", "add", "loadtest", "--scopes", "verify")
        let server = try await RunningServer(cli)
        defer { server.stop() }
        try await cli.expectOneLineError(["bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", "plk_wrong", "-n", "10",
                                    "--warmup", "0s"], status: 1)
    }

    /// Run from another home, every token would be unknown to the server: refused before any load is sent.
    @Test func aServerWithOtherKeysIsRefusedUpFront() async throws {
        let cli = CLI(), elsewhere = CLI()
        defer { cli.remove(); elsewhere.remove() }
        let key = try await cli.run("callers", "add", "loadtest", "--scopes", "verify").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await elsewhere.run("callers", "add", "someone-else", "--scopes", "verify")  // another installation, other keys
        let server = try await RunningServer(cli)
        defer { server.stop() }
        try await elsewhere.expectOneLineError(["bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-n", "10"], status: 1)
        let output = try await elsewhere.run("bench", "--connect", "127.0.0.1:\(server.port)", "--api-key", key, "-n", "10")
        #expect(output.stderr.contains("unknown_key"), "\(output.stderr)")
    }

    @Test func nothingListeningIsOneLineAndNonZero() async throws {
        let cli = CLI()
        defer { cli.remove() }
        try await cli.run("callers", "add", "loadtest", "--scopes", "verify")
        try await cli.expectOneLineError(["bench", "--connect", "127.0.0.1:1", "--api-key", "plk_wrong", "-n", "10"], status: 1)
        let output = try await cli.run("bench", "--connect", "127.0.0.1:1", "--api-key", "plk_wrong", "-n", "10")
        #expect(output.stderr.hasSuffix("connection refused\n"), "\(output.stderr)")
    }

    /// The server's Verify answers by result, from its Prometheus endpoint.
    private func verifyResults(metricsPort: Int) async throws -> [String: Int] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        let text = String(decoding: data, as: UTF8.self)
        var results: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("portal_links_verify_results_total{result=\"") {
            let name = line.dropFirst("portal_links_verify_results_total{result=\"".count).prefix { $0 != "\"" }
            results[String(name)] = Int(line.split(separator: " ").last!)
        }
        return results
    }
}

/// A run's JSON written back to a file, for bench merge and bench compare.
private enum BenchRunText {
    static func write(_ report: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: report).write(to: URL(fileURLWithPath: path))
    }
}
