import ArgumentParser
import Foundation
import NIOPosix
import PortalLinks
import PortalLinksClient
import PortalLinksCore
import PortalLinksWire
import PortalLinksMessages
import PortalLinksBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure verification, and merge and compare what was measured.",
        subcommands: [BenchRunCommand.self, BenchTokensCommand.self, BenchMergeCommand.self, BenchCompareCommand.self],
        defaultSubcommand: BenchRunCommand.self)
}

struct BenchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Measure verification: in this process (--in-process), or against a running server (--connect). The default.",
        discussion: """
            --in-process times the token core directly, with no store and no network: verify with one key (from \
            UTF-8 bytes, as the service reads a request, and from a Swift string), with 10,000 keys and with \
            1,000,000 revoked links, issue, the memory each revoked link costs, and the bare HMAC-SHA256 check \
            that every verify contains. Build with -c release (make bench) for meaningful figures. Every \
            verification is checked, so a bench that reports figures also verified every token it timed.
            --connect hammers a server's Links.Verify; --http loads the HTTP gateway with the same tokens and \
            schedule: http://HOST:PORT for Connect JSON calls of --method, http://HOST:PORT/auth/link (or \
            /auth/session) for forward auth as a reverse proxy asks it, so that the doors compare side by side \
            (bench compare). The binary door loads --connect. It prepares its tokens before timing starts: from --tokens \
            FILE (written by bench tokens where the server's home is, for a generator anywhere else), else with \
            the home's keys when there is one (valid links for the client portal-links-bench, issued for an hour, \
            expired ones, forged ones with a flipped tag bit, malformed ones), else by asking the server for valid \
            links through Links.Issue (the key then needs the issue scope) and making forged and malformed ones \
            from them; expired links only the staff side can sign. Closed loop keeps -P calls in flight per connection; --rps sends on a fixed schedule (open \
            loop) and measures latency from each call's intended send time. --batches loads the server the way \
            redis-benchmark -P does, for comparing with it: -P calls written together, the next batch only when \
            all their answers are in, written on the event loop's next turn and timed from that write (the default \
            closed loop times a call from the moment its slot freed, so its figures include the time the call \
            waits at the server behind others). --sign-ins RATE adds Accounts.SignIn \
            calls at that rate on a connection of their own during the run (the caller then needs the accounts \
            scope too), with an account registered in the home for the run and removed afterwards: each sign-in \
            costs the server one password hash, so compare the Verify figures with and without it.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("in-process"), help: "Benchmark the token core in this process.")
    var inProcess = false

    @Option(help: "With --in-process: operations per timed round (seven rounds of each measurement, after a warm-up round).")
    var iterations = 1_000_000

    @Option(help: ArgumentHelp("The server to load.", valueName: "HOST:PORT"))
    var connect: String?

    @Option(help: ArgumentHelp("The HTTP gateway to load: http://HOST:PORT (Connect JSON), or http://HOST:PORT/auth/link or /auth/session (forward auth).", valueName: "URL"))
    var http: String?

    @Option(name: .customLong("api-key"), help: ArgumentHelp("A caller's API key with the verify scope.", valueName: "KEY"))
    var apiKey: String?

    @Option(name: .short, help: "Connections.")
    var c = 50

    @Option(name: .customShort("P"), help: "Pipeline depth: calls in flight per connection.")
    var depth = 1

    @Option(name: .short, help: "Measured requests in total.")
    var n: Int?

    @Option(name: .short, help: ArgumentHelp("Measured duration, such as 10s.", valueName: "DURATION"))
    var z: String?

    @Option(help: ArgumentHelp("Open loop: requests per second in total.", valueName: "RATE"))
    var rps: Double?

    @Flag(help: "Closed loop in batches, as redis-benchmark -P does: -P calls written together, the next batch on the event loop's next turn once all their answers are in, each call timed from its batch's write.")
    var batches = false

    @Option(help: "links-verify (Links.Verify, with --mix; the default) or sessions-verify (Sessions.Verify of session tokens from --tokens or the home; the key needs the accounts scope). With --http, a forward-auth path says it.")
    var method: LoadMethod?

    enum LoadMethod: String, ExpressibleByArgument { case linksVerify = "links-verify", sessionsVerify = "sessions-verify" }

    @Option(help: ArgumentHelp("Tokens written by bench tokens: all bench needs from the server's side besides --api-key.", valueName: "FILE"))
    var tokens: String?

    @Option(name: .customLong("sign-ins"), help: ArgumentHelp("With --connect: also sign in this many times per second during the run.", valueName: "RATE"))
    var signIns: Double?

    @Option(help: ArgumentHelp("Shares of valid, expired, forged and malformed tokens, in percent.", valueName: "MIX"))
    var mix = "valid=100"

    @Option(help: ArgumentHelp("Unmeasured load before measuring.", valueName: "DURATION"))
    var warmup = "1s"

    @Option(help: "With --connect: client event-loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "text, json (with every latency, HdrHistogram-encoded, and every second: what bench merge and bench compare read) or csv.")
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Also write an HTML report with a latency-percentile plot.", valueName: "FILE"))
    var html: String?

    @Flag(help: "With --in-process: print JSON.")
    var json = false

    enum OutputFormat: String, ExpressibleByArgument { case text, json, csv }

    func validate() throws {
        guard [inProcess, connect != nil, http != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --in-process, --connect HOST:PORT or --http URL")
        }
        if inProcess {
            guard (1_000...100_000_000).contains(iterations) else { throw ValidationError("--iterations takes 1000 to 100000000") }
            return
        }
        _ = try target()
        guard apiKey != nil else { throw ValidationError("\(connect != nil ? "--connect" : "--http") needs --api-key KEY (a caller with the verify scope)") }
        guard (n == nil) != (z == nil) else { throw ValidationError("give either -n REQUESTS or -z DURATION") }
        if let n, n < 1 { throw ValidationError("-n must be positive") }
        if let z { _ = try Arguments.duration(z, option: "-z") }
        _ = try Self.warmupSeconds(warmup)
        guard (1...10_000).contains(c), (1...4_096).contains(depth) else { throw ValidationError("-c takes 1 to 10000, -P 1 to 4096") }
        if let rps, rps <= 0 { throw ValidationError("--rps must be positive") }
        if batches, rps != nil { throw ValidationError("--batches is a closed loop: give it without --rps") }
        if let signIns, !(0.1...10_000).contains(signIns) { throw ValidationError("--sign-ins takes 0.1 to 10000 per second") }
        if try target().method == .sessionsVerify, mix != "valid=100" {
            throw ValidationError("--mix is for links-verify: sessions-verify sends the session tokens it has")
        }
        if http != nil, signIns != nil { throw ValidationError("--sign-ins goes over the binary protocol: give it with --connect") }
        _ = try Self.parseMix(mix)
    }

    static let kinds = ["valid", "expired", "forged", "malformed"]

    /// Where the load goes, through which door, and the method loaded.
    private func target() throws -> (host: String, port: Int, door: LoadPlan.Door, method: LoadMethod) {
        if let connect {
            let (host, port) = try Arguments.address(connect, option: "--connect")
            return (host, port, .binary, method ?? .linksVerify)
        }
        let (host, port, door) = try Self.parseHTTP(http!)
        switch door {
        case .forwardAuth(let path):
            let implied: LoadMethod = path == "/auth/session" ? .sessionsVerify : .linksVerify
            if let method, method != implied { throw ValidationError("--http \(path) is forward auth of \(implied.rawValue == "links-verify" ? "links" : "sessions"): leave out --method \(method.rawValue)") }
            return (host, port, door, implied)
        default:
            return (host, port, door, method ?? .linksVerify)
        }
    }

    /// `http://HOST[:PORT][/auth/link | /auth/session]`: the gateway's Connect JSON calls, or forward auth.
    static func parseHTTP(_ text: String) throws -> (host: String, port: Int, door: LoadPlan.Door) {
        let usage = "--http takes http://HOST:PORT for Connect JSON calls, or http://HOST:PORT/auth/link or /auth/session for forward auth"
        if text.lowercased().hasPrefix("https://") {
            throw ValidationError("--http: bench speaks plain HTTP; load a plain-text listener (http://), such as the gateway behind its TLS proxy")
        }
        guard text.lowercased().hasPrefix("http://") else { throw ValidationError(usage) }
        let rest = text.dropFirst("http://".count)
        let authority = String(rest.prefix { $0 != "/" })
        let path = String(rest.dropFirst(authority.count))
        let door: LoadPlan.Door
        switch path {
        case "", "/": door = .connect
        case "/auth/link", "/auth/session": door = .forwardAuth(path: path)
        default: throw ValidationError(usage)
        }
        // A colon after any IPv6 bracket starts the port; without one, HTTP's port.
        let hasPort = authority.lastIndex(of: ":").map { colon in authority.lastIndex(of: "]").map { $0 < colon } ?? true } ?? false
        let (host, port) = try Arguments.address(hasPort ? authority : authority + ":80", option: "--http")
        return (host, port, door)
    }

    /// One call before the load: a server with other keys would answer every call unknown_key (and reload
    /// its ring for each), which is not the load anyone meant to measure.
    static func checkTheServerAccepts(_ token: String, host: String, port: Int, apiKey: String) async throws {
        let client = try PortalLinksClient(configuration: .init(host: host, port: port, apiKey: apiKey))
        let answer: PortalLinks_V1_VerifyResponse
        do {
            answer = try await client.verify(token: token)
            await client.close()
        } catch let error as PortalLinksClientError {
            await client.close()
            throw BenchError("\(host):\(port) refused the first call: \(error.message)")
        }
        guard answer.valid else {
            throw BenchError("\(host):\(port) does not accept these links (\(VerifyReason(wireValue: answer.reason.rawValue)?.rawValue ?? "invalid")): run bench with the "
                             + "server's home (--home or PORTAL_LINKS_HOME) or with --tokens FILE written there by bench tokens")
        }
    }

    /// The same through the gateway: one call of the plan's door, which must come back valid.
    static func checkTheGatewayAccepts(_ plan: LoadPlan, valid token: String) async throws {
        var probe = plan
        (probe.connections, probe.depth, probe.requests, probe.duration, probe.rate, probe.batches, probe.warmup) = (1, 1, 1, nil, nil, false, .zero)
        (probe.tokens, probe.tokenKinds, probe.kinds) = ([token], [0], ["valid"])
        let result = try await LoadGenerator(plan: probe).run { _, _ in }
        guard result.answers["valid"] != 1 else { return }
        let target = plan.targetName
        guard let answer = result.answers.keys.first else {
            let status = result.statuses.keys.first.map { "HTTP \($0)" } ?? "no answer"
            throw BenchError("\(target) refused the first call (\(status)): is --api-key a caller with the verify scope?")
        }
        throw BenchError("\(target) does not accept these links (\(answer)): run bench with the server's home (--home or "
                         + "PORTAL_LINKS_HOME) or with --tokens FILE written there by bench tokens")
    }

    /// The installation whose home this is, or nil on a machine without one (a load generator elsewhere).
    private func homeIfAny() async throws -> Installation? {
        do { return try await global.open(existing: true) } catch let error as PortalLinksError where error.code == .notFound { return nil }
    }

    /// A duration, or 0 for no warm-up.
    static func warmupSeconds(_ text: String) throws -> Int64 {
        if text == "0" || text == "0s" { return 0 }
        return try Arguments.duration(text, option: "--warmup")
    }

    static func parseMix(_ text: String) throws -> [(String, Int)] {
        let parts = try text.split(separator: ",").map { part -> (String, Int) in
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, kinds.contains(String(pieces[0])), let share = Int(pieces[1]), share >= 0 else {
                throw ValidationError("--mix takes kind=percent pairs of valid, expired, forged, malformed, such as valid=90,expired=5,forged=5")
            }
            return (String(pieces[0]), share)
        }
        guard parts.map(\.1).reduce(0, +) == 100 else { throw ValidationError("--mix shares must add up to 100") }
        return parts.filter { $0.1 > 0 }
    }

    func run() async throws {
        if inProcess {
            let report = CoreBenchmark(iterations: iterations).run()
            if json {
                print(JSONText.object(report.map { ($0.key, $0.value) }))
            } else {
                for (key, value) in report { print("\(key.padding(toLength: 30, withPad: " ", startingAt: 0)) \(value)") }
            }
            return
        }
        let (host, port, door, method) = try target()
        let shares = try Self.parseMix(mix)
        let installation = tokens == nil ? try await homeIfAny() : nil
        let prepared: BenchTokens
        if let tokens {
            prepared = try BenchTokens.read(from: tokens)
        } else if let installation {
            prepared = try await BenchTokens.fromHome(installation, count: 256)
        } else if method == .linksVerify, door == .binary {
            prepared = try await BenchTokens.fromServer(host: host, port: port, apiKey: apiKey!, count: 64)
        } else if door != .binary {
            prepared = BenchTokens(links: [:], source: "the gateway (bench asks for links over the binary port, with --connect)")
        } else {
            prepared = BenchTokens(links: [:], source: "a machine without the server's home or --tokens")
        }
        var pool: (tokens: [String], kinds: [Int])
        var kinds = shares.map(\.0)
        var sessionAccount: String?
        switch method {
        case .linksVerify:
            try prepared.require(shares.map(\.0))
            if let valid = prepared.links["valid"]?.first, door == .binary {
                try await Self.checkTheServerAccepts(valid, host: host, port: port, apiKey: apiKey!)
            }
            pool = LoadPlan.tokens(mix: shares, from: prepared.links)
        case .sessionsVerify:
            var sessions = prepared.sessions
            if sessions.isEmpty, let installation {
                let account = try await SignInLoad.prepareAccount(installation)
                sessionAccount = account.email
                for _ in 0..<8 { sessions.append(try await installation.signIn(email: account.email, password: account.password, caller: installation.actor).token) }
            }
            guard !sessions.isEmpty else {
                throw BenchError("Sessions.Verify load needs session tokens, which \(prepared.source) cannot give: portal-links bench tokens "
                                 + "(with --sessions) where the server's home is, then --tokens FILE")
            }
            pool = (sessions, Array(repeating: 0, count: sessions.count))
            kinds = ["session"]
        }
        let warmupSeconds = try Self.warmupSeconds(warmup)
        let plan = LoadPlan(
            host: host, port: port, apiKey: apiKey!, door: door, connections: c, depth: depth, requests: n,
            duration: try z.map { .seconds(try Arguments.duration($0, option: "-z")) }, rate: rps,
            batches: batches, warmup: .seconds(warmupSeconds), method: method == .linksVerify ? .linksVerify : .sessionsVerify,
            tokens: pool.tokens, tokenKinds: pool.kinds, kinds: kinds)
        if door != .binary, method == .linksVerify, prepared.links["valid"]?.isEmpty == false {
            try await Self.checkTheGatewayAccepts(plan, valid: prepared.links["valid"]![0])
        }
        let generator = LoadGenerator(plan: plan, group: threads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) }
            ?? MultiThreadedEventLoopGroup.singleton)
        var signInLoad: Task<SignInLoad.Report, Never>?
        var signInClient: PortalLinksClient?
        var benchAccount: String?
        if let signIns {
            let email: String, password: String
            if let account = prepared.signIn {
                (email, password) = account
            } else if let installation {
                (email, password) = try await SignInLoad.prepareAccount(installation)
                benchAccount = email
            } else {
                throw BenchError("--sign-ins needs an account to sign in as: run where the server's home is, or give --tokens FILE from bench tokens")
            }
            let client = try PortalLinksClient(configuration: .init(host: host, port: port, apiKey: apiKey!))
            signInClient = client
            do { _ = try await client.signIn(email: email, password: password) } catch let error as PortalLinksClientError {
                for account in [benchAccount, sessionAccount].compactMap({ $0 }) { try? await installation?.removeAccount(email: account) }
                await client.close()
                throw BenchError("\(host):\(port) refused a sign-in: \(error.message)")
            }
            let load = SignInLoad(client: client, email: email, password: password, rate: signIns)
            signInLoad = Task { await load.run() }
        }
        let result = try await generator.run { perSecond, warmingUp in
            FileHandle.standardError.write(Data("portal-links: \(perSecond) requests/s\(warmingUp ? " (warm-up)" : "")\n".utf8))
        }
        signInLoad?.cancel()
        let signInReport = await signInLoad?.value
        await signInClient?.close()
        for account in [benchAccount, sessionAccount].compactMap({ $0 }) { try? await installation?.removeAccount(email: account) }
        let report = LoadReport(result: result, plan: plan, mix: method == .sessionsVerify ? "sessions" : shares.map { "\($0.0)=\($0.1)" }.joined(separator: ","),
                                signIns: signInReport)
        switch format {
        case .text: print(report.text)
        case .json: print(report.json)
        case .csv: print(report.csv)
        }
        if let html {
            try report.html.write(toFile: html, atomically: true, encoding: .utf8)
        }
    }
}
