import NIOCore
import PortalLinks
import PortalLinksWire

/// One binary-protocol connection's states and what follows from each event, with no I/O and no clock of its
/// own: `ConnectionHandler` reports what happened (a read, a call, an answer, a timer, a drain) with the time,
/// and carries out the decision it gets back. As in grpc-swift-nio-transport, the states live in a plain value
/// so that authentication, the limits, backpressure and the deadlines are tested with plain values. Every field
/// is a plain value (no strings, arrays or references): the handler consults the machine for every call, and a
/// copy costs no reference counting. Who the caller is stays with the handler; the machine keeps its scopes.
struct ConnectionStateMachine {
    struct Limits: Sendable {
        var maximumInFlight: Int
        var maximumPendingAnswerBytes: Int
        var maximumCallsBeforeHello: Int
        var maximumFailedHellos: Int
        var idleTimeout: TimeAmount
        var partialFrameTimeout: TimeAmount

        init(_ configuration: ServerConfiguration) {
            maximumInFlight = configuration.maximumInFlight
            maximumPendingAnswerBytes = configuration.maximumPendingAnswerBytes
            maximumCallsBeforeHello = configuration.maximumCallsBeforeHello
            maximumFailedHellos = configuration.maximumFailedHellos
            idleTimeout = configuration.idleTimeout
            partialFrameTimeout = configuration.partialFrameTimeout
        }
    }

    enum Phase: Equatable {
        case serving
        /// Shutting down: calls other than Health are answered UNAVAILABLE; closes once nothing is in flight.
        case draining
        /// Refused (failed Hellos, `refusal` says which): nothing more is read; closes once the calls in flight
        /// are answered.
        case refusing
        case closed
    }

    /// Why a connection closes, for the log.
    enum CloseReason: String, Equatable {
        case idle = "idle"
        case idleWithoutHello = "idle without a Hello"
        case frameUnfinished = "a frame stayed unfinished too long"
        case callsWithoutHello = "too many calls without a Hello"
        case tooManyFailedHellos = "too many failed hellos"
        case helloThrottled = "failed hellos throttled"
        case draining = "draining"
    }

    /// The scopes of the caller that said Hello, looked up once per Hello rather than once per call.
    struct Scopes: Equatable {
        let verify: Bool
        let issue: Bool
        let accounts: Bool

        init(_ scopes: Set<String>) {
            verify = scopes.contains(CallerScope.verify.rawValue)
            issue = scopes.contains(CallerScope.issue.rawValue)
            accounts = scopes.contains(CallerScope.accounts.rawValue)
        }
    }

    enum Admission: Equatable {
        case proceed
        /// UNAVAILABLE: the server is shutting down.
        case shuttingDown
        /// UNAUTHENTICATED: the call needs a Hello first.
        case helloFirst
        /// PERMISSION_DENIED: the caller lacks the scope.
        case lacks(CallerScope)
    }

    /// What to do with one of the connection's two timers when it fires.
    enum TimerAction: Equatable {
        case none
        case reschedule(in: TimeAmount)
        case close(CloseReason)
    }

    let limits: Limits
    private(set) var phase = Phase.serving
    /// Why the connection is refusing, while it is.
    private(set) var refusal: CloseReason?
    /// The scopes of the caller that said Hello; nil before a successful Hello.
    private(set) var scopes: Scopes?
    /// Calls answered off the event loop (or after a reload) and not yet answered.
    private(set) var inFlight = 0
    /// Calls other than Health before a successful Hello; at the limit the connection closes.
    private(set) var callsWithoutHello = 0
    private(set) var failedHellos = 0
    /// Whether a Hello with an unknown key has already made this connection reload the snapshot.
    private(set) var reloadedForHello = false
    /// The last read or answer, which the idle timer measures from.
    private(set) var lastActivity: NIODeadline
    /// When the frame now unfinished began to arrive, while the server waits for the client to finish it.
    private(set) var unfinishedSince: NIODeadline?
    private(set) var frameTimerArmed = false
    /// The server declined a read: reading resumes when capacity returns.
    private(set) var readSuppressed = false
    /// Whole calls held back because answers wait to be written.
    private(set) var answersBacklogged = false

    init(limits: Limits, openedAt now: NIODeadline) {
        self.limits = limits
        lastActivity = now
    }

    var isClosed: Bool { phase == .closed }
    var isDraining: Bool { phase == .draining }

    /// How long the connection may be silent: the frame timeout until a Hello succeeds (so that connections
    /// that never authenticate cannot hold their slots for long), then the idle timeout.
    var idleLimit: TimeAmount {
        scopes == nil ? min(limits.idleTimeout, limits.partialFrameTimeout) : limits.idleTimeout
    }

    // MARK: Reading and calls

    /// The connection opened, bytes arrived, or answers were written: the idle clock starts again.
    mutating func activity(at now: NIODeadline) {
        lastActivity = now
    }

    /// Whether another whole frame already received may be handled now: not while closing or refused, while
    /// the in-flight limit is reached, or while answers wait for a client that is not reading them.
    func mayHandleCall(writable: Bool, pendingAnswerBytes: Int) -> Bool {
        writable && inFlight < limits.maximumInFlight && pendingAnswerBytes < limits.maximumPendingAnswerBytes
            && (phase == .serving || phase == .draining)
    }

    /// Whether a call may be served: draining, the calls allowed before a Hello, and the caller's scope. A
    /// method the server does not serve (no scope) counts towards the calls before a Hello like any other.
    mutating func admit(isHealth: Bool, scope: CallerScope?, serverDraining: Bool) -> Admission {
        if !isHealth, phase == .draining || serverDraining { return .shuttingDown }
        // Health needs no Hello (a balancer's probe); any other call before a successful Hello counts, and the
        // last one the limit allows is answered, then the connection closes (`callHandled`).
        if scopes == nil, !isHealth { callsWithoutHello += 1 }
        guard let scope else { return .proceed }
        guard let scopes else { return .helloFirst }
        let allowed = switch scope {
        case .verify: scopes.verify
        case .issue: scopes.issue
        case .accounts: scopes.accounts
        }
        return allowed ? .proceed : .lacks(scope)
    }

    /// After a call's inline handling: the reason to close, when it was the last call allowed without a Hello.
    func callHandled() -> CloseReason? {
        scopes == nil && callsWithoutHello >= limits.maximumCallsBeforeHello ? .callsWithoutHello : nil
    }

    /// A pass over the received frames ended. `unhandled`: bytes are left (an unfinished frame, or calls held
    /// back); `progressed`: the pass handled at least one call. True when the frame timer must be armed.
    mutating func passEnded(unhandled: Bool, progressed: Bool, writable: Bool, pendingAnswerBytes: Int,
                            receivedAt: NIODeadline) -> Bool {
        answersBacklogged = unhandled && !isClosed && (!writable || pendingAnswerBytes >= limits.maximumPendingAnswerBytes)
        guard unhandled, !isClosed else {
            unfinishedSince = nil
            return false
        }
        if inFlight >= limits.maximumInFlight || !writable {
            // Waiting for capacity, or for the client to read its answers, not for the client to send: no frame
            // timeout meanwhile (`resumeReading` starts it again).
            unfinishedSince = nil
        } else if progressed || unfinishedSince == nil {
            unfinishedSince = receivedAt  // the unfinished frame's clock starts with the read that began it
        }
        return armFrameTimerIfNeeded()
    }

    private mutating func armFrameTimerIfNeeded() -> Bool {
        guard unfinishedSince != nil, !frameTimerArmed else { return false }
        frameTimerArmed = true
        return true
    }

    // MARK: Backpressure

    /// NIO asks whether to read more. False while too many calls are in flight, the client does not read its
    /// answers, calls are held back, or the connection is refused.
    mutating func readRequested(writable: Bool) -> Bool {
        if inFlight >= limits.maximumInFlight || !writable || phase == .refusing || answersBacklogged || isClosed {
            readSuppressed = true
            return false
        }
        return true
    }

    enum Resume: Equatable {
        case none
        /// Read again; `armFrameTimer` when an unfinished frame now has the frame timeout to complete.
        case read(armFrameTimer: Bool)
    }

    /// Capacity may have returned (a call finished, the channel became writable).
    mutating func resumeReading(writable: Bool, unhandled: Bool, at now: NIODeadline) -> Resume {
        guard readSuppressed, inFlight < limits.maximumInFlight, writable, !answersBacklogged else { return .none }
        readSuppressed = false
        if unhandled, unfinishedSince == nil {
            unfinishedSince = now  // reading again: a frame left unfinished has the frame timeout from now
        }
        return .read(armFrameTimer: armFrameTimerIfNeeded())
    }

    // MARK: Calls off the loop

    mutating func callStarted() {
        inFlight += 1
    }

    enum Finished: Equatable {
        case close(CloseReason)
        /// Calls held back by the in-flight limit may go now.
        case handleHeldCalls
        case none
    }

    mutating func callFinished(unhandled: Bool) -> Finished {
        inFlight -= 1
        if inFlight == 0, let reason = closeReasonOnceIdle { return .close(reason) }
        return unhandled && inFlight < limits.maximumInFlight ? .handleHeldCalls : .none
    }

    /// Why the connection closes as soon as nothing is in flight, if it does.
    private var closeReasonOnceIdle: CloseReason? {
        switch phase {
        case .draining: .draining
        case .refusing: refusal
        case .serving, .closed: nil
        }
    }

    // MARK: Authentication

    mutating func authenticated(_ found: Scopes) {
        scopes = found
    }

    /// The caller was revoked (or its key retired) since its Hello: the next call needs a new Hello.
    mutating func callerRemoved() {
        scopes = nil
    }

    enum FailedHello: Equatable {
        /// The caller may have been added a moment ago: reload once per connection, then decide.
        case reloadThenRetry
        case refuse
    }

    /// A Hello with an unknown key, counted at once so that a read full of Hellos meets the limit at once.
    mutating func helloFailed() -> FailedHello {
        failedHellos += 1
        guard !reloadedForHello, failedHellos < limits.maximumFailedHellos else { return .refuse }
        reloadedForHello = true
        return .reloadThenRetry
    }

    /// The key was found after the reload: that attempt does not count as a failure.
    mutating func helloFoundAfterReload(_ found: Scopes) {
        failedHellos -= 1
        scopes = found
    }

    /// A failed Hello was refused. True when the connection must close now; an earlier successful Hello stays
    /// in force.
    mutating func helloRefused() -> Bool {
        guard failedHellos >= limits.maximumFailedHellos else { return false }
        return refuse(reason: .tooManyFailedHellos)
    }

    /// The client's address made too many failed Hellos. A connection without a successful Hello is refused;
    /// true when it must close now.
    mutating func helloThrottled() -> Bool {
        guard scopes == nil else { return false }
        return refuse(reason: .helloThrottled)
    }

    private mutating func refuse(reason: CloseReason) -> Bool {
        guard !isClosed else { return false }
        phase = .refusing
        refusal = reason
        return inFlight == 0
    }

    // MARK: Timers, draining, closing

    /// The frame timer fired: close when the unfinished frame is older than the frame timeout.
    mutating func frameTimerFired(at now: NIODeadline) -> TimerAction {
        frameTimerArmed = false
        guard let since = unfinishedSince, !isClosed else { return .none }
        guard !readSuppressed else {
            unfinishedSince = nil  // the server stopped reading: the frame cannot finish meanwhile
            return .none
        }
        let remaining = limits.partialFrameTimeout - (now - since)
        guard remaining > .zero else { return .close(.frameUnfinished) }
        frameTimerArmed = true
        return .reschedule(in: remaining)
    }

    /// The idle timer fired: close once nothing has been read or answered for `idleLimit`, and nothing is in
    /// flight (a call being worked on counts as activity).
    func idleTimerFired(at now: NIODeadline) -> TimerAction {
        guard !isClosed else { return .none }
        let remaining = idleLimit - (now - lastActivity)
        if remaining > .zero { return .reschedule(in: remaining) }
        if inFlight > 0 { return .reschedule(in: idleLimit) }
        return .close(scopes == nil ? .idleWithoutHello : .idle)
    }

    /// Shutdown began. True when the connection must close now.
    mutating func drain() -> Bool {
        guard phase == .serving else { return false }
        phase = .draining
        return inFlight == 0
    }

    /// True the first time: the caller closes the channel then, and only then.
    mutating func close() -> Bool {
        guard !isClosed else { return false }
        phase = .closed
        unfinishedSince = nil
        return true
    }
}
