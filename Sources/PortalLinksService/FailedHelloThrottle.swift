import NIOCore
import Synchronization

/// Failed Hellos per client address, across connections: each address may fail `burst` Hellos at once and
/// `perSecond` a second after that. An address over its budget has its Hellos with unknown keys refused with
/// RESOURCE_EXHAUSTED, unchecked and unlogged one by one, so that guessing keys from many connections costs
/// neither CPU nor log space; a Hello with a valid key is accepted from any address, always. Bounded: at
/// most `maximumAddresses` are tracked, and addresses whose budget is full again are forgotten first.
final class FailedHelloThrottle: Sendable {
    struct Budget {
        var tokens: Double
        var updated: NIODeadline
        /// Hellos refused by the throttle since it last logged about this address.
        var refusedSinceLog = 0
        var loggedAt: NIODeadline?
    }

    /// What to do with one more failed Hello from an address.
    enum Decision: Equatable {
        case allow
        /// Over budget; `log` carries the Hellos refused since the last log line, once per `logInterval`.
        case refuse(log: Int?)
    }

    let burst: Double
    let perSecond: Double
    let maximumAddresses: Int
    let logInterval: TimeAmount
    private let budgets = Mutex<[String: Budget]>([:])

    init(burst: Int = 20, perSecond: Double = 5, maximumAddresses: Int = 10_000, logInterval: TimeAmount = .seconds(10)) {
        self.burst = Double(burst)
        self.perSecond = perSecond
        self.maximumAddresses = maximumAddresses
        self.logInterval = logInterval
    }

    func failure(from address: String, at now: NIODeadline = .now()) -> Decision {
        budgets.withLock { budgets in
            if budgets[address] == nil, budgets.count >= maximumAddresses { forgetRefilled(&budgets, at: now) }
            var budget = budgets[address] ?? Budget(tokens: burst, updated: now)
            budget.tokens = min(burst, budget.tokens + seconds(now - budget.updated) * perSecond)
            budget.updated = now
            defer { budgets[address] = budget }
            if budget.tokens >= 1 {
                budget.tokens -= 1
                return .allow
            }
            budget.refusedSinceLog += 1
            guard budget.loggedAt.map({ now - $0 >= logInterval }) ?? true else { return .refuse(log: nil) }
            let refused = budget.refusedSinceLog
            budget.loggedAt = now
            budget.refusedSinceLog = 0
            return .refuse(log: refused)
        }
    }

    var trackedAddresses: Int { budgets.withLock { $0.count } }

    /// Drops addresses whose budget has refilled; if every one is still spending, the oldest half.
    private func forgetRefilled(_ budgets: inout [String: Budget], at now: NIODeadline) {
        budgets = budgets.filter { burst - ($0.value.tokens + seconds(now - $0.value.updated) * perSecond) > 0 }
        if budgets.count >= maximumAddresses {
            let oldest = budgets.sorted { $0.value.updated < $1.value.updated }.prefix(budgets.count / 2).map(\.key)
            for address in oldest { budgets[address] = nil }
        }
    }

    private func seconds(_ amount: TimeAmount) -> Double { Double(amount.nanoseconds) / 1e9 }
}
