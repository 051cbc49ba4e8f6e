import Foundation
import PortalLinks
import PortalLinksClient
import PortalLinksCore
import Synchronization

/// Accounts.SignIn at a fixed rate (open loop) on a connection of its own, next to a Verify load, to see what
/// sign-ins cost the server's Verify throughput. Each sign-in makes the server compute one password hash.
final class SignInLoad: Sendable {
    struct Report: Sendable {
        let asked: Double
        let seconds: Double
        let succeeded: Int
        /// Refusals and failures by status name.
        let failed: [String: Int]
        /// Milliseconds, of the successful sign-ins, sorted.
        let latencies: [Double]

        var rate: Double { seconds > 0 ? Double(succeeded) / seconds : 0 }

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = Int((p / 100 * Double(latencies.count)).rounded(.up)) - 1
            return latencies[max(0, min(latencies.count - 1, index))]
        }

        var text: String {
            let failures = failed.isEmpty ? "none" : failed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return String(format: "sign-ins     %d at %.1f/s (asked %.0f/s); latency ms p50 %.1f  p99 %.1f; refused or failed: %@",
                          succeeded, rate, asked, percentile(50), percentile(99), failures)
        }

        var json: RawJSON {
            RawJSON(text: JSONText.object([
                ("asked_per_second", asked), ("succeeded", succeeded), ("per_second", (rate * 10).rounded() / 10),
                ("failed", RawJSON(text: JSONText.object(failed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))),
                ("latency_ms", RawJSON(text: JSONText.object([("p50", percentile(50)), ("p99", percentile(99))]))),
            ]))
        }
    }

    private let client: PortalLinksClient
    private let email: String
    private let password: String
    private let rate: Double
    private let outcomes = Mutex<(succeeded: [Double], failed: [String: Int])>(([], [:]))

    init(client: PortalLinksClient, email: String, password: String, rate: Double) {
        self.client = client
        self.email = email
        self.password = password
        self.rate = rate
    }

    /// Signs in every 1/rate seconds until cancelled; calls still in flight then are not counted.
    func run() async -> Report {
        let start = ContinuousClock.now
        let interval = Duration.seconds(1 / rate)
        await withTaskGroup(of: Void.self) { group in
            var next = start
            while !Task.isCancelled {
                group.addTask { [self] in await signInOnce() }
                next += interval
                if (try? await Task.sleep(until: next, clock: .continuous)) == nil { break }
            }
            group.cancelAll()
        }
        let elapsed = ContinuousClock.now - start
        let (succeeded, failed) = outcomes.withLock { ($0.succeeded.sorted(), $0.failed) }
        return Report(asked: rate, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                      succeeded: succeeded.count, failed: failed, latencies: succeeded)
    }

    private func signInOnce() async {
        let began = ContinuousClock.now
        do {
            _ = try await client.signIn(email: email, password: password)
            guard !Task.isCancelled else { return }
            let took = ContinuousClock.now - began
            let milliseconds = Double(took.components.seconds) * 1_000 + Double(took.components.attoseconds) / 1e15
            outcomes.withLock { $0.succeeded.append(milliseconds) }
        } catch {
            guard !Task.isCancelled else { return }
            let name = (error as? PortalLinksClientError)?.code.description ?? "transport"
            outcomes.withLock { $0.failed[name, default: 0] += 1 }
        }
    }

    /// An account of its own for the run, registered in the home through a fresh link; removed afterwards.
    static func prepareAccount(_ installation: Installation) async throws -> (email: String, password: String) {
        let link = try await installation.issue(IssueRequest(clientID: .text("portal-links-bench"), expiresAt: installation.clock() + 3_600))
        let email = "bench-\(Hex.padded(SecureRandom.uint64(), digits: 16))@portal-links.invalid"
        let password = Base64URL.encode(SecureRandom.bytes(18))
        try await installation.register(link: link.token, email: email, password: password, displayName: "bench", caller: installation.actor)
        return (email, password)
    }
}
