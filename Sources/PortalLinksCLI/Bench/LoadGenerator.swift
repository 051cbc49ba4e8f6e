import Foundation
import Histogram
import NIOCore
import NIOPosix
import PortalLinksBench
import PortalLinksClient
import PortalLinksMessages
import PortalLinksWire
import Synchronization

/// What a run measured.
struct LoadResult: Sendable {
    /// Every measured latency: the run's, gathered from the per-loop tallies (a connection's result has none).
    var histogram: Histogram<UInt64>?
    var statuses: [UInt16: Int] = [:]
    var elapsed: Duration = .zero
    /// Each second of the measured window, from the per-loop tallies.
    var seconds: [BenchRun.Second] = []
    /// When the measured window began, by the wall clock.
    var startedAt: Double = 0
    /// Measured calls sent, by mix kind.
    var sentByKind: [String: Int] = [:]
    /// Measured Verify answers by what they said: `valid` or the reason.
    var answers: [String: Int] = [:]
    /// Open loop: measured calls sent more than a millisecond after their intended time, and the latest.
    var lateSends = 0
    var maximumSendLag: TimeAmount = .zero
    /// The generator's own CPU time (user and system) during the run.
    var cpuSeconds: Double = 0
    var requests: Int { statuses.values.reduce(0, +) }

    mutating func merge(_ other: LoadResult) {
        if let other = other.histogram {
            if histogram == nil { histogram = BenchRun.runHistogram() }
            histogram!.add(other)
        }
        statuses.merge(other.statuses, uniquingKeysWith: +)
        sentByKind.merge(other.sentByKind, uniquingKeysWith: +)
        answers.merge(other.answers, uniquingKeysWith: +)
        lateSends += other.lateSends
        maximumSendLag = max(maximumSendLag, other.maximumSendLag)
    }

    mutating func add(seconds other: [BenchRun.Second]) {
        for (index, second) in other.enumerated() {
            while seconds.count <= index { seconds.append(BenchRun.Second()) }
            seconds[index].add(second)
        }
    }
}

/// The latencies of the measured window, whole and by second, for the connections of one event loop: the
/// histograms are a loop's rather than each connection's (a whole-run histogram is about 220 KB, and a run may
/// have 10,000 connections). Touched only on its loop.
final class SecondTally: @unchecked Sendable {
    private(set) var histogram = BenchRun.runHistogram()
    private(set) var seconds: [BenchRun.Second] = []

    func record(_ latency: UInt64, second: Int, isError: Bool) {
        _ = histogram.record(latency)
        while seconds.count <= second { seconds.append(BenchRun.Second()) }
        seconds[second].requests += 1
        if isError { seconds[second].errors += 1 }
        _ = seconds[second].histogram.record(latency)
    }
}

/// Drives the plan over `connections` connections and gathers the latencies (nanoseconds, from the intended
/// send time in open loop, so a stalled server cannot hide its stall) and statuses.
final class LoadGenerator: Sendable {
    let plan: LoadPlan
    /// Answers so far, warm-up included, for the progress lines.
    let completed = Atomic<Int>(0)
    private let remaining: Atomic<Int>
    let group: any EventLoopGroup
    /// The plan's requests, encoded once for the door loaded.
    private let requests: Requests

    private enum Requests {
        case frames(RequestFrames)
        case http(HTTPWire.Requests)
    }

    init(plan: LoadPlan, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.plan = plan
        requests = plan.door == .binary ? .frames(RequestFrames(method: plan.method, payloads: plan.payloads)) : .http(HTTPWire.Requests(plan: plan))
        self.group = group
        remaining = Atomic(plan.requests ?? Int.max)
    }

    /// This process's CPU time so far, user and system.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Takes one call from the budget; false when it is spent.
    func takeBudget() -> Bool {
        guard plan.requests != nil else { return true }
        return remaining.subtract(1, ordering: .relaxed).newValue >= 0
    }

    /// `progress` gets the answers of each second, and whether that second was still warming up.
    func run(progress: @escaping @Sendable (_ answers: Int, _ warmingUp: Bool) -> Void) async throws -> LoadResult {
        let start = ContinuousClock.now
        let measureFrom = NIODeadline.now() + .nanoseconds(Int64(plan.warmup.components.seconds) * 1_000_000_000
                                                           + plan.warmup.components.attoseconds / 1_000_000_000)
        let stopAt = plan.duration.map { duration in
            measureFrom + .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        let reporter = Task {
            var last = 0
            while (try? await Task.sleep(for: .seconds(1))) != nil {
                let now = completed.load(ordering: .relaxed)
                progress(now - last, NIODeadline.now() <= measureFrom)
                last = now
            }
        }
        defer { reporter.cancel() }
        let startedAt = Date().timeIntervalSince1970 + Double((measureFrom - .now()).nanoseconds) / 1e9
        let cpuBefore = Self.cpuSeconds()
        var tallies: [ObjectIdentifier: SecondTally] = [:]
        for loop in group.makeIterator() { tallies[ObjectIdentifier(loop)] = SecondTally() }
        let results = try await withThrowingTaskGroup(of: LoadResult.self) { [tallies] tasks in
            for index in 0..<plan.connections {
                tasks.addTask {
                    try await self.runConnection(index: index, measureFrom: measureFrom, stopAt: stopAt, tallies: tallies)
                }
            }
            var total = LoadResult()
            for try await result in tasks { total.merge(result) }
            return total
        }
        var result = results
        result.elapsed = ContinuousClock.now - start - plan.warmup
        result.startedAt = startedAt
        result.cpuSeconds = Self.cpuSeconds() - cpuBefore
        for loop in group.makeIterator() {
            let tally = tallies[ObjectIdentifier(loop)]!
            let (histogram, seconds) = try await loop.submit { (tally.histogram, tally.seconds) }.get()
            result.merge(LoadResult(histogram: histogram))
            result.add(seconds: seconds)
        }
        return result
    }

    private func runConnection(index: Int, measureFrom: NIODeadline, stopAt: NIODeadline?,
                               tallies: [ObjectIdentifier: SecondTally]) async throws -> LoadResult {
        let done = group.next().makePromise(of: LoadResult.self)
        let perConnectionRate = plan.rate.map { $0 / Double(plan.connections) }
        let connecting = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    func add<Wire: LoadWire>(_ wire: Wire) throws {
                        try Wire.addHandlers(channel.pipeline.syncOperations)
                        try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(
                            wire: wire, generator: self, offset: index * 7, rate: perConnectionRate, measureFrom: measureFrom,
                            stopAt: stopAt, tally: tallies[ObjectIdentifier(channel.eventLoop)]!, done: done))
                    }
                    switch self.requests {
                    case .frames(let frames): try add(BinaryWire(frames: frames, apiKey: self.plan.apiKey))
                    case .http(let requests): try add(HTTPWire(requests))
                    }
                }
            }
            .connect(host: plan.host, port: plan.port)
        let channel: any Channel
        do {
            channel = try await connecting.get()
        } catch {
            let failure = BenchError("cannot connect to \(plan.host):\(plan.port): \(PortalLinksClientError.reason(error))")
            done.fail(failure)
            throw failure
        }
        defer { channel.close(promise: nil) }
        return try await done.futureResult.get()
    }
}

/// One connection's share of the load: when each call goes out, and what its answer measured. Runs on its
/// event loop; its `wire` writes the calls and reads the answers. It takes one clock reading per read, so that
/// the load generator is not what is measured.
final class LoadConnectionHandler<Wire: LoadWire>: ChannelInboundHandler {
    typealias InboundIn = Wire.InboundIn

    private let generator: LoadGenerator
    private var wire: Wire
    private let rate: Double?
    private let measureFrom: NIODeadline
    private let stopAt: NIODeadline?
    private let done: EventLoopPromise<LoadResult>
    private var next: Int
    private var nextCallID: UInt32 = 1
    /// The calls awaiting an answer and the time each one's latency counts from.
    private var inFlight = InFlightCalls()
    /// Answers by status, counted in an array on the hot path.
    private var statusCounts = [Int](repeating: 0, count: Wire.statusSlots)
    /// Verify answers by reason's wire value (0 for valid, `VerifyAnswer.unreadable` for neither).
    private var reasonCounts = [Int](repeating: 0, count: VerifyAnswer.unreadable + 1)
    /// Measured calls sent, by the index of their kind in the plan.
    private var sentCounts: [Int]
    private let payloadKinds: [Int]
    private var lateSends = 0
    private var maximumSendLag: TimeAmount = .zero
    private var answeredSinceReport = 0
    /// Open loop: calls due but not yet sent because `depth` are in flight, by intended send time.
    private var backlog: [NIODeadline] = []
    private var scheduled = 0
    /// Open loop: the timer that sends the next call at its intended time.
    private var ticker: Scheduled<Void>?
    private var started: NIODeadline = .now()
    private var stopped = false
    /// Batches: the next batch is scheduled for the loop's next turn.
    private var batchPending = false
    private var result = LoadResult()
    /// This loop's answers by second.
    private let tally: SecondTally

    init(wire: Wire, generator: LoadGenerator, offset: Int, rate: Double?, measureFrom: NIODeadline, stopAt: NIODeadline?,
         tally: SecondTally, done: EventLoopPromise<LoadResult>) {
        self.wire = wire
        self.generator = generator
        self.tally = tally
        payloadKinds = generator.plan.tokenKinds
        sentCounts = [Int](repeating: 0, count: generator.plan.kinds.count)
        self.next = offset
        self.rate = rate
        self.measureFrom = measureFrom
        self.stopAt = stopAt
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        if wire.greet(context) {
            wire.writeQueued(context)
            context.flush()
        } else {
            begin(context, now: .now())
        }
    }

    /// The load starts: at once, or once the greeting was answered.
    private func begin(_ context: ChannelHandlerContext, now: NIODeadline) {
        started = now
        if rate != nil {
            tick(context)
        } else {
            fill(context, now: now)
            wire.writeQueued(context)
            context.flush()
            finishIfDone(context, now: now)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        // Every answer in this read arrived at this moment.
        let now = NIODeadline.now()
        do {
            try wire.read(unwrapInboundIn(data)) { answer in
                answered(context, answer, at: now)
                return !stopped
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    private func answered(_ context: ChannelHandlerContext, _ answer: WireAnswer, at now: NIODeadline) {
        if answer.callID == 0 {
            guard answer.decided else {
                done.fail(BenchError("the server refused the API key (\(StatusCode(rawValue: answer.status)))"))
                stopped = true
                return
            }
            begin(context, now: now)
            return
        }
        guard let intended = inFlight.remove(answer.callID) else { return }
        if intended >= measureFrom {
            let latency = UInt64(max(0, (now - intended).nanoseconds))
            tally.record(latency, second: Int((now - measureFrom).nanoseconds / 1_000_000_000), isError: !answer.decided)
            if answer.decided { reasonCounts[answer.reason] += 1 }
            if Int(answer.status) < statusCounts.count {
                statusCounts[Int(answer.status)] += 1
            } else {
                result.statuses[answer.status, default: 0] += 1
            }
        }
        answeredSinceReport += 1
        if rate != nil {
            drainBacklog(context, now: now)
        } else if !generator.plan.batches {
            fill(context, now: now)
        }
        finishIfDone(context, now: now)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        generator.completed.add(answeredSinceReport, ordering: .relaxed)
        answeredSinceReport = 0
        wire.writeQueued(context)
        context.flush()
        if generator.plan.batches, rate == nil, inFlight.isEmpty, !stopped, !batchPending {
            // The next batch goes out on the loop's next turn, after the other connections' reads, and its
            // calls are timed from that write.
            batchPending = true
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = bound.value
                handler.batchPending = false
                guard !handler.stopped else { return }
                let now = NIODeadline.now()
                handler.fill(context, now: now)
                handler.wire.writeQueued(context)
                context.flush()
                handler.finishIfDone(context, now: now)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ticker?.cancel()
        if !stopped { done.fail(BenchError("the server closed the connection")) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    /// Calls sent during the warm-up are not counted against -n, nor measured.
    private func inWarmup(_ now: NIODeadline) -> Bool { now < measureFrom }

    private func shouldStop(_ now: NIODeadline) -> Bool {
        if let stopAt, now >= stopAt { return true }
        return false
    }

    /// Closed loop: keep `depth` calls in flight.
    private func fill(_ context: ChannelHandlerContext, now: NIODeadline) {
        while inFlight.count < generator.plan.depth, !shouldStop(now), inWarmup(now) || generator.takeBudget() {
            send(context, intended: now)
        }
    }

    /// Open loop: every call whose intended time (call k at k ÷ rate after the start) has come goes out, or
    /// waits in the backlog while `depth` are in flight; then the timer is set for the next call's time.
    private func tick(_ context: ChannelHandlerContext) {
        guard let rate else { return }
        ticker = nil
        let now = NIODeadline.now()
        let due = Int(Double((now - started).nanoseconds) * rate / 1_000_000_000) + 1
        while scheduled < due, !shouldStop(now), inWarmup(now) || generator.takeBudget() {
            backlog.append(intendedTime(of: scheduled, rate: rate))
            scheduled += 1
        }
        drainBacklog(context, now: now)
        wire.writeQueued(context)
        context.flush()
        finishIfDone(context, now: now)
        guard !stopped, !shouldStop(now), generator.hasBudget || inWarmup(now) else { return }
        // Calls go out at their own time, not on a coarse clock; at rates too high for a timer per call the
        // timer fires at most every `minimumTick` and sends what came due meanwhile (timed from when it was due).
        let next = max(intendedTime(of: scheduled, rate: rate), now + Self.minimumTick)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleTask(deadline: next) { bound.value.0.tick(bound.value.1) }
    }

    private static var minimumTick: TimeAmount { .microseconds(20) }

    private func intendedTime(of call: Int, rate: Double) -> NIODeadline {
        started + .nanoseconds(Int64(Double(call) * 1_000_000_000 / rate))
    }

    private func drainBacklog(_ context: ChannelHandlerContext, now: NIODeadline) {
        while !backlog.isEmpty, inFlight.count < generator.plan.depth {
            let intended = backlog.removeFirst()
            if intended >= measureFrom, now - intended > .milliseconds(1) {
                lateSends += 1
                maximumSendLag = max(maximumSendLag, now - intended)
            }
            send(context, intended: intended)
        }
    }

    private func send(_ context: ChannelHandlerContext, intended: NIODeadline) {
        let callID = nextCallID
        nextCallID = nextCallID == UInt32.max ? 1 : nextCallID + 1
        inFlight.append(callID, intended)
        wire.write(next % wire.requestCount, callID: callID, context)
        if intended >= measureFrom { sentCounts[payloadKinds[next % payloadKinds.count]] += 1 }
        next &+= 1
    }

    private func finishIfDone(_ context: ChannelHandlerContext, now: NIODeadline) {
        let budgetSpent = generator.plan.requests != nil && !generator.hasBudget
        guard inFlight.isEmpty, backlog.isEmpty, budgetSpent || shouldStop(now) else { return }
        stopped = true
        ticker?.cancel()
        generator.completed.add(answeredSinceReport, ordering: .relaxed)
        answeredSinceReport = 0
        for (code, count) in statusCounts.enumerated() where count > 0 { result.statuses[UInt16(code), default: 0] += count }
        for (slot, count) in reasonCounts.enumerated() where count > 0 {
            // A SessionVerifyResponse has `valid` as field 1 too, and its reason as text: valid, or not.
            let name = generator.plan.method == .linksVerify ? VerifyAnswer.name(slot) : slot == 0 ? "valid" : "invalid"
            result.answers[name, default: 0] += count
        }
        for (kind, count) in sentCounts.enumerated() where count > 0 { result.sentByKind[generator.plan.kinds[kind], default: 0] += count }
        result.lateSends = lateSends
        result.maximumSendLag = maximumSendLag
        done.succeed(result)
    }
}

/// Calls awaiting answers, in the order they were sent. Answers nearly always come back in that order, so
/// taking one is a look at the oldest; one that overtakes others is found by a search and left as a gap.
struct InFlightCalls {
    private var calls: [(id: UInt32, sent: NIODeadline, waiting: Bool)] = []
    private var oldest = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ id: UInt32, _ sent: NIODeadline) {
        if oldest == calls.count {  // nothing waiting: start the array again
            calls.removeAll(keepingCapacity: true)
            oldest = 0
        } else if oldest > 1_024, oldest * 2 > calls.count {
            calls.removeFirst(oldest)
            oldest = 0
        }
        calls.append((id, sent, true))
        count += 1
    }

    /// The send time of call `id`, which no longer waits; nil for an id not waiting.
    mutating func remove(_ id: UInt32) -> NIODeadline? {
        var index = oldest
        while index < calls.count, !(calls[index].id == id && calls[index].waiting) { index += 1 }
        guard index < calls.count else { return nil }
        calls[index].waiting = false
        count -= 1
        while oldest < calls.count, !calls[oldest].waiting { oldest += 1 }
        return calls[index].sent
    }
}

extension LoadGenerator {

    var hasBudget: Bool { plan.requests == nil || remaining.load(ordering: .relaxed) > 0 }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
