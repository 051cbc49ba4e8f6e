import Foundation
import Histogram
import NIOCore
import NIOPosix
import PortalLinksMessages
import PortalLinksWire
import Synchronization

/// What a run measured.
struct LoadResult: Sendable {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var statuses: [UInt16: Int] = [:]
    var elapsed: Duration = .zero
    var requests: Int { statuses.values.reduce(0, +) }

    mutating func merge(_ other: LoadResult) {
        histogram.add(other.histogram)
        statuses.merge(other.statuses, uniquingKeysWith: +)
    }
}

/// Drives the plan over `connections` connections and gathers the latencies (nanoseconds, from the intended
/// send time in open loop, so a stalled server cannot hide its stall) and statuses.
final class LoadGenerator: Sendable {
    let plan: LoadPlan
    let completed = Atomic<Int>(0)
    private let remaining: Atomic<Int>
    let group: any EventLoopGroup

    init(plan: LoadPlan, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.plan = plan
        self.group = group
        remaining = Atomic(plan.requests ?? Int.max)
    }

    /// Takes one call from the budget; false when it is spent.
    func takeBudget() -> Bool {
        guard plan.requests != nil else { return true }
        return remaining.subtract(1, ordering: .relaxed).newValue >= 0
    }

    func run(progress: @escaping @Sendable (Int) -> Void) async throws -> LoadResult {
        let start = ContinuousClock.now
        let measureFrom = NIODeadline.now() + .nanoseconds(Int64(plan.warmup.components.seconds) * 1_000_000_000
                                                           + plan.warmup.components.attoseconds / 1_000_000_000)
        let stopAt = plan.duration.map { duration in
            measureFrom + .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let now = completed.load(ordering: .relaxed)
                progress(now - last)
                last = now
            }
        }
        defer { reporter.cancel() }
        let results = try await withThrowingTaskGroup(of: LoadResult.self) { tasks in
            for index in 0..<plan.connections {
                tasks.addTask {
                    try await self.runConnection(index: index, measureFrom: measureFrom, stopAt: stopAt)
                }
            }
            var total = LoadResult()
            for try await result in tasks { total.merge(result) }
            return total
        }
        var result = results
        result.elapsed = ContinuousClock.now - start - plan.warmup
        return result
    }

    private func runConnection(index: Int, measureFrom: NIODeadline, stopAt: NIODeadline?) async throws -> LoadResult {
        let done = group.next().makePromise(of: LoadResult.self)
        let perConnectionRate = plan.rate.map { $0 / Double(plan.connections) }
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .client)))
                    try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(
                        generator: self, offset: index * 7, rate: perConnectionRate, measureFrom: measureFrom,
                        stopAt: stopAt, done: done))
                }
            }
            .connect(host: plan.host, port: plan.port).get()
        defer { channel.close(promise: nil) }
        return try await done.futureResult.get()
    }
}

/// One connection's share of the load. Runs on its event loop.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let generator: LoadGenerator
    private let rate: Double?
    private let measureFrom: NIODeadline
    private let stopAt: NIODeadline?
    private let done: EventLoopPromise<LoadResult>
    private var next: Int
    private var nextCallID: UInt32 = 1
    /// Call id to the time its latency counts from.
    private var inFlight: [UInt32: NIODeadline] = [:]
    /// Open loop: calls due but not yet sent because `depth` are in flight, by intended send time.
    private var backlog: [NIODeadline] = []
    private var scheduled = 0
    private var ticker: RepeatedTask?
    private var started: NIODeadline = .now()
    private var stopped = false
    private var result = LoadResult()

    init(generator: LoadGenerator, offset: Int, rate: Double?, measureFrom: NIODeadline, stopAt: NIODeadline?,
         done: EventLoopPromise<LoadResult>) {
        self.generator = generator
        self.next = offset
        self.rate = rate
        self.measureFrom = measureFrom
        self.stopAt = stopAt
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        var hello = PortalLinks_V1_HelloRequest()
        hello.apiKey = generator.plan.apiKey
        let payload: [UInt8] = try! hello.serializedBytes()
        write(context, method: .authHello, callID: 0, payload: payload)
        writeOutgoing(context)
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let now = NIODeadline.now()
        if frame.header.callID == 0 {
            guard StatusCode(rawValue: frame.header.code) == .ok else {
                done.fail(BenchError("the server refused the API key (\(StatusCode(rawValue: frame.header.code)))"))
                return
            }
            started = now
            if let rate {
                let interval = TimeAmount.nanoseconds(Int64(1_000_000_000 / rate))
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: max(interval, .microseconds(100))) { _ in
                    bound.value.0.tick(bound.value.1)
                }
            } else {
                fill(context)
                finishIfDone(context)
            }
            return
        }
        guard let intended = inFlight.removeValue(forKey: frame.header.callID) else { return }
        if intended >= measureFrom {
            _ = result.histogram.record(UInt64(max(0, (now - intended).nanoseconds)))
            result.statuses[frame.header.code, default: 0] += 1
            generator.completed.add(1, ordering: .relaxed)
        }
        if rate == nil { fill(context) } else { drainBacklog(context) }
        finishIfDone(context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writeOutgoing(context)
        context.flush()
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
    private var inWarmup: Bool { NIODeadline.now() < measureFrom }

    private var shouldStop: Bool {
        if let stopAt, NIODeadline.now() >= stopAt { return true }
        return false
    }

    /// Closed loop: keep `depth` calls in flight.
    private func fill(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        while inFlight.count < generator.plan.depth, !shouldStop, inWarmup || generator.takeBudget() {
            send(context, intended: now)
        }
    }

    /// Open loop: every call due by now, on the fixed schedule, goes out or waits in the backlog.
    private func tick(_ context: ChannelHandlerContext) {
        guard let rate else { return }
        let now = NIODeadline.now()
        let due = Int(Double((now - started).nanoseconds) * rate / 1_000_000_000)
        while scheduled < due, !shouldStop, inWarmup || generator.takeBudget() {
            backlog.append(started + .nanoseconds(Int64(Double(scheduled) * 1_000_000_000 / rate)))
            scheduled += 1
        }
        drainBacklog(context)
        writeOutgoing(context)
        context.flush()
        finishIfDone(context)
    }

    private func drainBacklog(_ context: ChannelHandlerContext) {
        while !backlog.isEmpty, inFlight.count < generator.plan.depth {
            send(context, intended: backlog.removeFirst())
        }
    }

    private func send(_ context: ChannelHandlerContext, intended: NIODeadline) {
        let payloads = generator.plan.payloads
        let payload = payloads[next % payloads.count]
        next &+= 1
        let callID = nextCallID
        nextCallID = nextCallID == UInt32.max ? 1 : nextCallID + 1
        inFlight[callID] = intended
        write(context, method: .linksVerify, callID: callID, payload: payload)
    }

    /// Requests gathered for one write: a pipelined batch goes out as one buffer, so that the load generator
    /// spends its time on the calls and not on per-call pipeline traversals.
    private var outgoing: ByteBuffer?

    private func write(_ context: ChannelHandlerContext, method: MethodID, callID: UInt32, payload: [UInt8]) {
        if outgoing == nil { outgoing = context.channel.allocator.buffer(capacity: 4_096) }
        outgoing!.writeMultipleIntegers(FrameHeader.requestVersion, UInt8(0), method.rawValue, callID, UInt32(0), UInt32(payload.count))
        outgoing!.writeBytes(payload)
    }

    private func writeOutgoing(_ context: ChannelHandlerContext) {
        guard let buffer = outgoing else { return }
        outgoing = nil
        context.write(NIOAny(buffer), promise: nil)
    }

    private func finishIfDone(_ context: ChannelHandlerContext) {
        let budgetSpent = generator.plan.requests != nil && !generator.hasBudget
        guard inFlight.isEmpty, backlog.isEmpty, budgetSpent || shouldStop else { return }
        stopped = true
        ticker?.cancel()
        done.succeed(result)
    }
}

extension LoadGenerator {
    var hasBudget: Bool { plan.requests == nil || remaining.load(ordering: .relaxed) > 0 }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
