import Foundation
import NIOCore
import PortalLinksClient
import PortalLinksMessages
import PortalLinksStore
import PortalLinksTesting
import PortalLinksWire
import Synchronization
import Testing
@testable import PortalLinks
@testable import PortalLinksCore
@testable import PortalLinksService

/// Registration, sign-in, lockout, sessions and password reset through a running server, as a front-end
/// server calls them.
@Suite(.timeLimit(.minutes(2))) struct AccountsOverTheWireTests {
    /// Cheap hashes keep the suite fast; the rules and the hashing pool are the real ones.
    static let policy = AccountPolicy(hasher: PasswordHasher(memoryKiB: 256, iterations: 1, parallelism: 1))
    static let password = "correct horse battery"

    static func start(clock: TestClock = TestClock(),
                      configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> (LiveServer, PortalLinksClient, link: String) {
        let server = try await LiveServer.start(accountPolicy: policy, clock: clock, configure: configure)
        let link = try await server.installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Acme Corp")).token
        return (server, try server.client(apiKey: server.accountsKey), link)
    }

    static func failure(_ body: () async throws -> Void) async -> PortalLinksClientError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? PortalLinksClientError
        }
    }

    @Test func registerThroughALinkThenSignInAndVerifyTheSession() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        let account = try await client.register(token: link, email: " Ana@Example.com ", password: Self.password, displayName: "Ana")
        #expect(account.email == "ana@example.com" && account.clientID == "acme" && account.displayName == "Ana")
        #expect(account.linkID.count == 16)
        // Two people, one link.
        _ = try await client.register(token: link, email: "bo@example.com", password: "another long passphrase")
        #expect(try await server.installation.store.accounts(client: .text("acme"), link: nil).count == 2)

        let signedIn = try await client.signIn(email: "ANA@example.com", password: Self.password)
        #expect(signedIn.account.email == "ana@example.com" && signedIn.session.clientID == "acme")
        let checked = try await client.verifySession(token: signedIn.session.token)
        #expect(checked.valid && checked.clientID == "acme" && checked.sessionID == signedIn.session.sessionID)
        let stored = try #require(try await server.installation.store.account(email: EmailAddress("ana@example.com")!))
        #expect(stored.signInCount == 1 && stored.lastSignInAt != nil)
        await client.close()
    }

    @Test func invalidLinksGiveTheirReasonAndCreateNothing() async throws {
        let clock = TestClock()
        let (server, client, link) = try await Self.start(clock: clock)
        defer { Task { await server.stop() } }
        let expiring = try await server.installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: clock.now + 60)).token
        let revoked = try await server.installation.issue(IssueRequest(clientID: .text("acme")))
        _ = try await server.installation.revokeLink(revoked.linkID)
        var tampered = Array(link.utf8)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        clock.advance(by: 200)
        #expect(await eventually { (try? await client.verifySession(token: "x")) != nil })
        // The revocation reaches the server through its reloader, which a busy machine may run late.
        #expect(await eventually { (try? await client.verify(token: revoked.token).reason) == .linkRevoked })
        for (token, reason) in [(String(decoding: tampered, as: UTF8.self), "bad_signature"), (expiring, "expired"),
                                (revoked.token, "link_revoked"), ("garbage", "malformed")] {
            let error = await Self.failure {
                _ = try await client.register(token: token, email: "ana@example.com", password: Self.password)
            }
            #expect(error?.code == .failedPrecondition && error?.reason == reason, "\(reason): \(String(describing: error))")
        }
        #expect(try await server.installation.store.accounts(client: nil, link: nil).isEmpty)
        await client.close()
    }

    @Test func oneAccountPerEmailUnderConcurrencyAndWeakPasswordsRefused() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        let outcomes = await withTaskGroup(of: StatusCode.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let email = index % 2 == 0 ? "ana@example.com" : " ANA@example.com"
                    let error = await Self.failure { _ = try await client.register(token: link, email: email, password: Self.password) }
                    return error?.code ?? .ok
                }
            }
            return await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .ok }.count == 1)
        #expect(outcomes.filter { $0 == .alreadyExists }.count == 7)
        for weak in ["tiny12", "password123", String(repeating: "x", count: 257)] {
            let error = await Self.failure { _ = try await client.register(token: link, email: "bo@example.com", password: weak) }
            #expect(error?.code == .invalidArgument)
            #expect(!(error?.message.contains(weak) ?? true))
        }
        let badEmail = await Self.failure { _ = try await client.register(token: link, email: "not an email", password: Self.password) }
        #expect(badEmail?.code == .invalidArgument)
        #expect(try await server.installation.store.accounts(client: nil, link: nil).count == 1)
        await client.close()
    }

    @Test func fiveFailuresLockTheAccountWithTheSameMessageAsUnknownEmails() async throws {
        let clock = TestClock()
        let (server, client, link) = try await Self.start(clock: clock)
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        let unknown = await Self.failure { _ = try await client.signIn(email: "nobody@example.com", password: Self.password) }
        #expect(unknown?.code == .unauthenticated)
        for _ in 0..<5 {
            let wrong = await Self.failure { _ = try await client.signIn(email: "ana@example.com", password: "not the password") }
            #expect(wrong == unknown)
        }
        // Locked: the right password is refused with the very same error.
        let locked = await Self.failure { _ = try await client.signIn(email: "ana@example.com", password: Self.password) }
        #expect(locked == unknown)
        clock.advance(by: 15 * 60 + 1)
        _ = try await client.signIn(email: "ana@example.com", password: Self.password)
        await client.close()
    }

    @Test func concurrentFailuresAreCountedOnceEachAndStopAtTheLock() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask { _ = try? await client.signIn(email: "ana@example.com", password: "not the password") }
            }
        }
        let account = try #require(try await server.installation.store.account(email: EmailAddress("ana@example.com")!))
        #expect(account.isLocked(at: Int64(Date().timeIntervalSince1970)))
        // Exactly five failures counted, one lock; the seven attempts made while locked were refused, not counted.
        let attempts = try await server.installation.store.activity(account: account.email, client: nil)
        #expect(attempts.filter { $0.event == "account.sign_in" && $0.result == "failed" }.count == 5)
        #expect(attempts.filter { $0.event == "account.lockout" }.count == 1)
        #expect(attempts.filter { $0.result == "refused locked" }.count == 7)
        await client.close()
    }

    @Test func sessionsRefreshExpireAndEndOnSignOutAndDisable() async throws {
        let clock = TestClock()
        let (server, client, link) = try await Self.start(clock: clock)
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        let first = try await client.signIn(email: "ana@example.com", password: Self.password).session
        clock.advance(by: 20 * 60)
        let refreshed = try await client.refreshSession(token: first.token)
        #expect(refreshed.sessionID == first.sessionID && refreshed.expiresAt > first.expiresAt)
        // Idle: past 30 minutes (and the leeway) without a refresh.
        clock.advance(by: 31 * 60 + 61)
        #expect(try await client.verifySession(token: refreshed.token).reason == "expired")
        #expect(await Self.failure { _ = try await client.refreshSession(token: refreshed.token) }?.code == .unauthenticated)

        // Absolute: refreshing every 20 minutes stops working 12 hours after sign-in.
        var session = try await client.signIn(email: "ana@example.com", password: Self.password).session
        for _ in 0..<40 {
            clock.advance(by: 20 * 60)
            guard let next = try? await client.refreshSession(token: session.token) else { break }
            #expect(next.expiresAt <= session.signedInAt + 12 * 3_600)
            session = next
        }
        #expect(clock.now - session.signedInAt <= 12 * 3_600 + 20 * 60)
        clock.advance(by: 20 * 60)
        #expect(try await client.verifySession(token: session.token).reason == "expired")

        // Sign-out ends one session; the other stays.
        let kept = try await client.signIn(email: "ana@example.com", password: Self.password).session
        let ended = try await client.signIn(email: "ana@example.com", password: Self.password).session
        try await client.signOut(token: ended.token)
        #expect(try await eventually { try await client.verifySession(token: ended.token).reason == "ended" })
        #expect(try await client.verifySession(token: kept.token).valid)

        // Disabling the account (staff, another process) ends its sessions on the server within seconds.
        #expect(try await server.installation.store.setAccount(email: EmailAddress("ana@example.com")!, disabled: true,
                                                               actor: "staff", at: clock.now))
        #expect(try await eventually { try await client.verifySession(token: kept.token).reason == "ended" })
        #expect(await Self.failure { _ = try await client.refreshSession(token: kept.token) }?.code == .unauthenticated)
        await client.close()
    }

    @Test func disablingTheClientStopsSignInAndSessions() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        let session = try await client.signIn(email: "ana@example.com", password: Self.password).session
        _ = try await server.installation.setClient(.text("acme"), disabled: true)
        #expect(try await eventually { try await client.verifySession(token: session.token).reason == "ended" })
        #expect(await Self.failure { _ = try await client.signIn(email: "ana@example.com", password: Self.password) }?.code
                == .unauthenticated)
        _ = try await server.installation.setClient(.text("acme"), disabled: false)
        #expect(try await eventually { try await client.verifySession(token: session.token).valid })
        _ = try await client.signIn(email: "ana@example.com", password: Self.password)
        await client.close()
    }

    @Test func aResetWorksOnceClearsTheLockAndEndsSessions() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        let session = try await client.signIn(email: "ana@example.com", password: Self.password).session
        for _ in 0..<5 { _ = try? await client.signIn(email: "ana@example.com", password: "not the password") }

        let nobody = try await client.requestPasswordReset(email: "nobody@example.com")
        #expect(nobody.resetToken.isEmpty && nobody.expiresAt == 0 && nobody.email.isEmpty)
        let reset = try await client.requestPasswordReset(email: "Ana@example.com")
        #expect(!reset.resetToken.isEmpty)
        #expect(reset.email == "ana@example.com", "the address on record, where the token must be sent")
        // A weak new password is refused and leaves the token usable.
        #expect(await Self.failure { try await client.resetPassword(resetToken: reset.resetToken, newPassword: "short") }?.code
                == .invalidArgument)
        try await client.resetPassword(resetToken: reset.resetToken, newPassword: "a brand new passphrase")
        #expect(await Self.failure {
            try await client.resetPassword(resetToken: reset.resetToken, newPassword: "yet another passphrase")
        }?.code == .unauthenticated)
        #expect(try await eventually { try await client.verifySession(token: session.token).reason == "ended" })
        _ = try await client.signIn(email: "ana@example.com", password: "a brand new passphrase")
        await client.close()
    }

    /// The reported takeover: KELVIN SIGN + "im" lower-cases to "kim". Neither it nor any other spelling that
    /// Unicode maps onto kim's address reaches kim's account; the answers name no address.
    @Test func aLookalikeAddressGetsNoResetTokenForAnotherAccount() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "kim@acme.example", password: Self.password)
        for spelling in ["\u{212A}im@acme.example", "\u{FF4B}im@acme.example", "k\u{130}m@acme.example", "kim@acme.\u{212A}xample"] {
            let reset = try await client.requestPasswordReset(email: spelling)
            #expect(reset.resetToken.isEmpty && reset.email.isEmpty, "\(spelling.unicodeScalars.map { String($0.value, radix: 16) })")
            #expect(await Self.failure { _ = try await client.signIn(email: spelling, password: Self.password) }?.code == .unauthenticated)
        }
        #expect(await Self.failure {
            _ = try await client.register(token: link, email: "\u{212A}im@acme.example", password: Self.password)
        }?.code == .invalidArgument)
        #expect(try await client.requestPasswordReset(email: "KIM@acme.example").email == "kim@acme.example")
        await client.close()
    }

    @Test func linksSessionsAndResetTokensAreNeverTakenForEachOther() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        let session = try await client.signIn(email: "ana@example.com", password: Self.password).session
        let reset = try await client.requestPasswordReset(email: "ana@example.com").resetToken
        #expect(try await client.verifySession(token: link).valid == false)
        #expect(try await client.verifySession(token: reset).valid == false)
        #expect(try await client.verify(token: session.token).valid == false)
        #expect(await Self.failure { _ = try await client.register(token: session.token, email: "bo@example.com",
                                                                   password: Self.password) }?.code == .failedPrecondition)
        #expect(await Self.failure { try await client.resetPassword(resetToken: session.token,
                                                                    newPassword: "a brand new passphrase") }?.code == .unauthenticated)
        // A session token with one bit changed.
        var bytes = Array(session.token.utf8)
        bytes[bytes.count - 2] = bytes[bytes.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(try await client.verifySession(token: String(decoding: bytes, as: UTF8.self)).reason == "bad_signature")
        await client.close()
    }

    @Test func accountMethodsNeedTheAccountsScopeAndAWellFormedPayload() async throws {
        let (server, _, link) = try await Self.start()
        defer { Task { await server.stop() } }
        let verifier = try server.client(apiKey: server.verifierKey)
        let denied = await Self.failure { _ = try await verifier.register(token: link, email: "ana@example.com", password: Self.password) }
        #expect(denied?.code == .permissionDenied)
        #expect(await Self.failure { _ = try await verifier.verifySession(token: "x") }?.code == .permissionDenied)
        await verifier.close()

        let raw = try await RawConnection(port: server.port)
        try await raw.send([Frame.request(.authHello, callID: 1, payload: Payload.hello(server.accountsKey)),
                            Frame.request(.accountsSignIn, callID: 2, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]))])
        let answers = await raw.receive(2)
        #expect(answers.map(\.header.code) == [StatusCode.ok.rawValue, StatusCode.invalidArgument.rawValue])
        await raw.close()
        #expect(try await server.installation.store.activity(account: nil, client: nil).isEmpty)
    }

    @Test func aBurstBeyondTheHashingQueueIsRefusedNotQueued() async throws {
        let (server, client, link) = try await Self.start { configuration in
            configuration.hashThreads = 1
            configuration.maximumWaitingHashes = 0
        }
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        // Hold the only hashing thread, so that the next sign-in finds no room.
        let release = Mutex(false)
        let holding = Task {
            try await server.server.hashing.run { while !release.withLock({ $0 }) { usleep(1_000) } }
        }
        #expect(await eventually { server.server.hashing.pending == 1 })
        let refused = await Self.failure { _ = try await client.signIn(email: "ana@example.com", password: Self.password) }
        #expect(refused?.code == .resourceExhausted)
        release.withLock { $0 = true }
        try await holding.value
        _ = try await client.signIn(email: "ana@example.com", password: Self.password)
        // Verify was answered all along.
        #expect(try await client.verify(token: link).valid)
        await client.close()
    }

    @Test func theActivityLogNamesTheCallerAndHoldsNoSecrets() async throws {
        let (server, client, link) = try await Self.start()
        defer { Task { await server.stop() } }
        _ = try await client.register(token: link, email: "ana@example.com", password: Self.password)
        _ = try? await client.signIn(email: "ana@example.com", password: "wrong password 1")
        let session = try await client.signIn(email: "ana@example.com", password: Self.password).session
        let reset = try await client.requestPasswordReset(email: "ana@example.com").resetToken
        try await client.signOut(token: session.token)
        let entries = try await server.installation.store.activity(account: EmailAddress("ana@example.com"), client: nil)
        #expect(entries.allSatisfy { $0.caller == "portal" })
        #expect(Set(entries.map(\.event)).isSuperset(of: ["account.register", "account.sign_in", "account.reset_request", "session.sign_out"]))
        let hash = try #require(try await server.installation.store.account(email: EmailAddress("ana@example.com")!)).passwordHash
        let text = entries.map { "\($0)" }.joined(separator: "\n")
        for secret in [Self.password, "wrong password 1", session.token, reset, link, hash] { #expect(!text.contains(secret)) }
        await client.close()
    }
}
