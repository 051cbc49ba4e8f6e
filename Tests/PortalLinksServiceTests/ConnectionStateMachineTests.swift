import NIOCore
import PortalLinks
import PortalLinksWire
@testable import PortalLinksService
import Testing

/// The connection's decisions as plain values: no channel, no clock but the times passed in.
@Suite struct ConnectionStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(_ configure: (inout ServerConfiguration) -> Void = { _ in }) -> ConnectionStateMachine {
        var configuration = ServerConfiguration()
        configuration.maximumInFlight = 2
        configuration.maximumCallsBeforeHello = 3
        configuration.maximumFailedHellos = 3
        configuration.idleTimeout = .seconds(60)
        configuration.partialFrameTimeout = .seconds(10)
        configure(&configuration)
        return ConnectionStateMachine(limits: .init(configuration), openedAt: start)
    }

    static let verifier = ConnectionStateMachine.Scopes(["verify"])

    // MARK: Authentication

    @Test func callsBeforeAHelloAreRefusedAndCountedHealthIsNot() {
        var machine = Self.machine()
        for _ in 1...10 {
            #expect(machine.admit(isHealth: true, scope: nil, serverDraining: false) == .proceed)
            #expect(machine.callHandled() == nil, "Health is a balancer's probe and needs no Hello")
        }
        for call in 1...3 {
            #expect(machine.admit(isHealth: false, scope: .verify, serverDraining: false)
                == .helloFirst)
            #expect(machine.callHandled() == (call == 3 ? .callsWithoutHello : nil), "the third call is answered, then the connection closes")
        }
    }

    @Test func aHelloInTimeStopsTheCount() {
        var machine = Self.machine()
        _ = machine.admit(isHealth: false, scope: nil, serverDraining: false)  // an unknown method counts too
        _ = machine.admit(isHealth: false, scope: nil, serverDraining: false)  // the Hello itself
        machine.authenticated(Self.verifier)
        #expect(machine.callHandled() == nil)
        for _ in 1...10 { #expect(machine.admit(isHealth: false, scope: .verify, serverDraining: false) == .proceed) }
        #expect(machine.callHandled() == nil)
    }

    @Test func scopesAreLookedUpFromTheHello() {
        var machine = Self.machine()
        machine.authenticated(.init(["verify", "issue"]))
        #expect(machine.admit(isHealth: false, scope: .issue, serverDraining: false) == .proceed)
        #expect(machine.admit(isHealth: false, scope: .accounts, serverDraining: false)
            == .lacks(.accounts))
        machine.callerRemoved()
        #expect(machine.admit(isHealth: false, scope: .verify, serverDraining: false)
            == .helloFirst, "revoked since its Hello")
    }

    @Test func failedHellosReloadOnceThenRefuseThenClose() {
        var machine = Self.machine()
        #expect(machine.helloFailed() == .reloadThenRetry, "the caller may have been added a moment ago")
        #expect(machine.helloFailed() == .refuse, "one reload per connection")
        #expect(machine.helloRefused() == false)
        #expect(machine.helloFailed() == .refuse)
        #expect(machine.helloRefused() == true, "the third failure closes at once when nothing is in flight")
        #expect(machine.phase == .refusing && machine.refusal == .tooManyFailedHellos)
        #expect(!machine.mayHandleCall(writable: true, pendingAnswerBytes: 0))
        #expect(machine.readRequested(writable: true) == false, "a refused connection is not read")
    }

    @Test func aKeyFoundAfterTheReloadIsNotAFailure() {
        var machine = Self.machine()
        #expect(machine.helloFailed() == .reloadThenRetry)
        machine.helloFoundAfterReload(Self.verifier)
        #expect(machine.failedHellos == 0 && machine.scopes == Self.verifier)
    }

    @Test func aRefusalWaitsForTheCallsInFlight() {
        var machine = Self.machine()
        machine.callStarted()
        for _ in 1...3 { _ = machine.helloFailed() }
        #expect(machine.helloRefused() == false, "a call is still being answered")
        #expect(machine.callFinished(unhandled: true) == .close(.tooManyFailedHellos))
    }

    @Test func aThrottledAddressKeepsAnEarlierLogin() {
        var anonymous = Self.machine()
        #expect(anonymous.helloThrottled() == true)
        #expect(anonymous.phase == .refusing && anonymous.refusal == .helloThrottled)
        var authenticated = Self.machine()
        authenticated.authenticated(Self.verifier)
        #expect(authenticated.helloThrottled() == false)
        #expect(authenticated.phase == .serving && authenticated.scopes == Self.verifier)
    }

    // MARK: In flight and backpressure

    @Test func theInFlightLimitStopsHandlingAndReading() {
        var machine = Self.machine()
        machine.callStarted()
        #expect(machine.mayHandleCall(writable: true, pendingAnswerBytes: 0))
        machine.callStarted()
        #expect(!machine.mayHandleCall(writable: true, pendingAnswerBytes: 0))
        #expect(!machine.readRequested(writable: true) && machine.readSuppressed)
        #expect(machine.passEnded(unhandled: true, progressed: true, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start) == false,
                "waiting for capacity is not the client's fault: no frame timer")
        #expect(machine.unfinishedSince == nil)
        #expect(machine.callFinished(unhandled: true) == .handleHeldCalls)
        #expect(machine.resumeReading(writable: true, unhandled: true, at: Self.start + .seconds(1)) == .read(armFrameTimer: true))
        #expect(machine.unfinishedSince == Self.start + .seconds(1), "the frame timeout counts from the resumed read")
    }

    @Test func answersTheClientDoesNotReadHoldTheRestBack() {
        var machine = Self.machine { $0.maximumPendingAnswerBytes = 100 }
        #expect(!machine.mayHandleCall(writable: true, pendingAnswerBytes: 100))
        _ = machine.passEnded(unhandled: true, progressed: true, writable: true, pendingAnswerBytes: 100, receivedAt: Self.start)
        #expect(machine.answersBacklogged)
        #expect(machine.readRequested(writable: true) == false, "no more reading while calls are held back")
        #expect(machine.resumeReading(writable: true, unhandled: true, at: Self.start) == .none)
        _ = machine.passEnded(unhandled: false, progressed: true, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start)
        #expect(!machine.answersBacklogged)
        #expect(machine.resumeReading(writable: true, unhandled: false, at: Self.start) == .read(armFrameTimer: false))
    }

    @Test func anUnwritableChannelStopsReadingUntilItDrains() {
        var machine = Self.machine()
        #expect(!machine.mayHandleCall(writable: false, pendingAnswerBytes: 0))
        #expect(machine.readRequested(writable: false) == false)
        #expect(machine.resumeReading(writable: false, unhandled: false, at: Self.start) == .none)
        #expect(machine.resumeReading(writable: true, unhandled: false, at: Self.start) == .read(armFrameTimer: false))
        #expect(machine.resumeReading(writable: true, unhandled: false, at: Self.start) == .none, "one read per suppression")
    }

    // MARK: Deadlines

    @Test func anUnfinishedFrameHasTheFrameTimeoutFromItsFirstByte() {
        var machine = Self.machine()
        #expect(machine.passEnded(unhandled: true, progressed: false, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start) == true)
        // Further bytes of the same frame (no call completed) do not move its clock, nor arm a second timer.
        #expect(machine.passEnded(unhandled: true, progressed: false, writable: true, pendingAnswerBytes: 0,
                                   receivedAt: Self.start + .seconds(4)) == false)
        #expect(machine.frameTimerFired(at: Self.start + .seconds(4)) == .reschedule(in: .seconds(6)))
        #expect(machine.frameTimerFired(at: Self.start + .seconds(10)) == .close(.frameUnfinished))
    }

    @Test func eachCompletedFrameRestartsTheClock() {
        var machine = Self.machine()
        _ = machine.passEnded(unhandled: true, progressed: false, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start)
        _ = machine.passEnded(unhandled: true, progressed: true, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start + .seconds(9))
        #expect(machine.frameTimerFired(at: Self.start + .seconds(10)) == .reschedule(in: .seconds(9)))
        _ = machine.passEnded(unhandled: false, progressed: true, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start + .seconds(12))
        #expect(machine.frameTimerFired(at: Self.start + .seconds(19)) == .none, "nothing unfinished any more")
    }

    @Test func aSuppressedReadStopsTheFrameClock() {
        var machine = Self.machine()
        _ = machine.passEnded(unhandled: true, progressed: false, writable: true, pendingAnswerBytes: 0, receivedAt: Self.start)
        #expect(machine.readRequested(writable: false) == false)
        #expect(machine.frameTimerFired(at: Self.start + .seconds(60)) == .none, "the frame cannot finish while the server does not read")
        #expect(machine.unfinishedSince == nil)
    }

    @Test func idleLimitIsTheFrameTimeoutUntilAHello() {
        var machine = Self.machine()
        #expect(machine.idleTimerFired(at: Self.start + .seconds(4)) == .reschedule(in: .seconds(6)))
        #expect(machine.idleTimerFired(at: Self.start + .seconds(10)) == .close(.idleWithoutHello))
        machine.authenticated(Self.verifier)
        #expect(machine.idleTimerFired(at: Self.start + .seconds(10)) == .reschedule(in: .seconds(50)))
        machine.activity(at: Self.start + .seconds(30))
        #expect(machine.idleTimerFired(at: Self.start + .seconds(60)) == .reschedule(in: .seconds(30)))
        #expect(machine.idleTimerFired(at: Self.start + .seconds(90)) == .close(.idle))
    }

    @Test func aCallBeingWorkedOnIsNotIdleness() {
        var machine = Self.machine()
        machine.authenticated(Self.verifier)
        machine.callStarted()
        #expect(machine.idleTimerFired(at: Self.start + .seconds(600)) == .reschedule(in: .seconds(60)))
    }

    // MARK: Draining and closing

    @Test func drainingAnswersHealthAndClosesOnceNothingIsInFlight() {
        var machine = Self.machine()
        machine.authenticated(Self.verifier)
        machine.callStarted()
        #expect(machine.drain() == false, "a call is in flight")
        #expect(machine.admit(isHealth: true, scope: nil, serverDraining: false) == .proceed)
        #expect(machine.admit(isHealth: false, scope: .verify, serverDraining: false)
            == .shuttingDown)
        #expect(machine.mayHandleCall(writable: true, pendingAnswerBytes: 0), "calls are still read, to be refused")
        #expect(machine.callFinished(unhandled: false) == .close(.draining))

        var idle = Self.machine()
        #expect(idle.drain() == true)
    }

    @Test func theServerDrainingRefusesCallsOnEveryConnection() {
        var machine = Self.machine()
        machine.authenticated(Self.verifier)
        #expect(machine.admit(isHealth: false, scope: .verify, serverDraining: true)
            == .shuttingDown)
    }

    @Test func aConnectionClosesOnce() {
        var machine = Self.machine()
        #expect(machine.close() == true)
        #expect(machine.close() == false)
        #expect(!machine.mayHandleCall(writable: true, pendingAnswerBytes: 0))
        #expect(!machine.drain() && !machine.helloThrottled())
        #expect(machine.idleTimerFired(at: Self.start + .seconds(600)) == .none)
    }
}
