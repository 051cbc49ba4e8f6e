import Foundation
import PortalLinks
import PortalLinksCore
import PortalLinksStore
import Testing

/// Registration, sign-in with lockout, sessions and reset, in process, against a real SQLite store.
@Suite struct AccountTests {
    /// Cheap hashes keep the suite fast; the rules are the real ones.
    static let policy = AccountPolicy(hasher: PasswordHasher(memoryKiB: 256, iterations: 1, parallelism: 1))
    static let password = "correct horse battery"

    static func setUp() async throws -> (TestHome, Installation, link: String) {
        let home = try TestHome()
        let installation = try await home.open().with(accountPolicy: policy)
        let link = try await installation.issue(IssueRequest(clientID: .text("acme"), displayName: "Acme Corp")).token
        return (home, installation, link)
    }

    /// Account names follow the link text rules: every control character (C0, DEL, C1) and every bidirectional
    /// control Unicode lists is refused, wherever it stands; names are kept in NFC.
    @Test func accountNamesRefuseControlAndBidiCharacters() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        let refused = (UInt32(0)...0x2FFF).compactMap(Unicode.Scalar.init).filter {
            $0.properties.generalCategory == .control || $0.properties.isBidiControl
        }
        #expect(refused.count == 65 + 12)
        for scalar in refused {
            await #expect(throws: PortalLinksError.self) {
                try await installation.register(link: link, email: "ana@example.com", password: Self.password,
                                                displayName: "Ana \(scalar)Lima", caller: "frontend")
            }
        }
        let account = try await installation.register(link: link, email: "ana@example.com", password: Self.password,
                                                      displayName: " Jose\u{301} Lima ", caller: "frontend")
        #expect(account.displayName?.utf8.elementsEqual("Jos\u{E9} Lima".utf8) == true)
    }

    /// The list is part of the binary: an installed portal-links needs no resource file beside it.
    @Test func theCommonPasswordsListIsBuiltIn() {
        #expect(AccountPolicy.commonPasswords.count == 8_450)
        #expect(AccountPolicy.commonPasswords.contains("password") && AccountPolicy.commonPasswords.contains("!qaz1qaz"))
    }

    @Test func registrationTiesTheAccountToTheLinksClient() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        let account = try await installation.register(link: link, email: " Ana@Example.com ", password: Self.password,
                                                      displayName: "Ana", caller: "frontend")
        #expect(account.email.normalized == "ana@example.com")
        #expect(account.clientID == .text("acme"))
        #expect(account.passwordHash.hasPrefix("$argon2id$"))
        #expect(!account.passwordHash.contains(Self.password))
        // A second person, same link, own account.
        let second = try await installation.register(link: link, email: "bo@example.com", password: "another long one",
                                                     displayName: nil, caller: "frontend")
        #expect(second.linkID == account.linkID && second.id != account.id)
        #expect(try await installation.store.accounts(client: nil, link: account.linkID).count == 2)
    }

    @Test func invalidLinksCreateNothing() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        var tampered = Array(link.utf8)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let expired = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 60)).token
        let revoked = try await installation.issue(IssueRequest(clientID: .text("acme")))
        _ = try await installation.revokeLink(revoked.linkID)
        home.clock.advance(by: 200)
        for (token, reason) in [(String(decoding: tampered, as: UTF8.self), "bad_signature"), (expired, "expired"),
                                (revoked.token, "link_revoked"), ("garbage", "malformed")] {
            await #expect(throws: PortalLinksError(.conflict, "the link is not valid (\(reason))", reason: reason)) {
                try await installation.register(link: token, email: "ana@example.com", password: Self.password,
                                                displayName: nil, caller: "frontend")
            }
        }
        #expect(try await installation.store.accounts(client: nil, link: nil).isEmpty)
    }

    @Test func oneAccountPerEmailEvenUnderConcurrency() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let spelling = index % 2 == 0 ? "ana@example.com" : "ANA@example.com"
                    return (try? await installation.register(link: link, email: spelling, password: Self.password,
                                                              displayName: nil, caller: "frontend")) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await installation.store.accounts(client: nil, link: nil).count == 1)
        await #expect(throws: PortalLinksError(.alreadyExists, "an account with that email exists already")) {
            try await installation.register(link: link, email: "ana@example.com", password: "something else entirely",
                                            displayName: nil, caller: "frontend")
        }
    }

    @Test func weakAndCommonPasswordsAreRefused() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        for password in ["short1", "password123", "qwertyuiop", "Iloveyou1"] {
            await #expect(throws: PortalLinksError.self) {
                try await installation.register(link: link, email: "ana@example.com", password: password, displayName: nil, caller: "f")
            }
        }
        #expect(try await installation.store.accounts(client: nil, link: nil).isEmpty)
    }

    @Test func fiveFailuresLockForFifteenMinutesAndLockedFailuresDoNotExtend() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        let refused = PortalLinksError(.unauthenticated, "the email or password is wrong, or the account cannot sign in")
        for _ in 0..<5 {
            await #expect(throws: refused) { try await installation.signIn(email: "ana@example.com", password: "wrong password", caller: "f") }
        }
        // Locked: the right password is refused with the same message, like an unknown email.
        await #expect(throws: refused) { try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f") }
        await #expect(throws: refused) { try await installation.signIn(email: "nobody@example.com", password: Self.password, caller: "f") }
        home.clock.advance(by: 14 * 60)
        await #expect(throws: refused) { try await installation.signIn(email: "ana@example.com", password: "wrong again", caller: "f") }
        home.clock.advance(by: 61)  // 15 minutes after locking, although a failure came while locked
        let grant = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        #expect(grant.account.signInCount == 1 && grant.account.lastSignInAt == home.clock.now)
        let events = try await installation.store.activity(account: EmailAddress("ana@example.com"), client: nil).map(\.event)
        #expect(events.contains("account.lockout") && events.last == "account.sign_in")
    }

    @Test func concurrentFailuresAreAllCounted() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<5 { group.addTask { _ = try? await installation.signIn(email: "ana@example.com", password: "wrong pass", caller: "f") } }
        }
        let account = try await installation.store.account(email: EmailAddress("ana@example.com")!)
        #expect(account?.isLocked(at: home.clock.now) == true)
    }

    @Test func sessionsRefreshWithinTheirLimitsAndEndOnSignOutAndDisable() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        let grant = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        #expect(try await installation.verifySession(grant.token).clientID == .text("acme"))
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(link) }  // a link is no session
        await #expect(throws: PortalLinksError.self) { try await installation.register(link: grant.token, email: "x@example.com",
                                                                                      password: Self.password, displayName: nil, caller: "f") }
        // Idle: refreshed every 25 minutes it lives on, up to 12 hours from sign-in.
        var token = grant.token
        for _ in 0..<28 {
            home.clock.advance(by: 25 * 60)
            token = try await installation.refreshSession(token).token
        }
        home.clock.advance(by: 25 * 60)  // 12 h 5 min after sign-in
        await #expect(throws: PortalLinksError.self) { try await installation.refreshSession(token) }
        // Idle timeout without refresh.
        let idle = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        home.clock.advance(by: 31 * 60 + 61)
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(idle.token) }
        // Sign-out ends one session; disabling ends all.
        let one = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        let two = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        try await installation.signOut(one.token, caller: "f")
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(one.token) }
        _ = try await installation.verifySession(two.token)
        #expect(try await installation.store.setAccount(email: EmailAddress("ana@example.com")!, disabled: true, actor: "staff", at: home.clock.now))
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(two.token) }
        #expect(try await installation.store.setAccount(email: EmailAddress("ana@example.com")!, disabled: false, actor: "staff", at: home.clock.now))
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(two.token) }  // stays ended
    }

    @Test func disablingTheClientStopsSignInAndSessions() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        let grant = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        #expect(try await installation.store.setClient(.text("acme"), disabled: true, actor: "staff", at: home.clock.now))
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(grant.token) }
        await #expect(throws: PortalLinksError.self) { try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f") }
        #expect(try await installation.store.setClient(.text("acme"), disabled: false, actor: "staff", at: home.clock.now))
        _ = try await installation.verifySession(grant.token)
        _ = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
    }

    @Test func aResetWorksOnceClearsTheLockAndEndsSessions() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        let session = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        for _ in 0..<5 { _ = try? await installation.signIn(email: "ana@example.com", password: "wrong pass", caller: "f") }
        #expect(try await installation.requestPasswordReset(email: "nobody@example.com", caller: "f") == nil)
        let reset = try #require(try await installation.requestPasswordReset(email: "ANA@example.com", caller: "f")).token
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(reset) }  // a reset is no session
        try await installation.resetPassword(token: reset, newPassword: "a brand new passphrase", caller: "f")
        await #expect(throws: PortalLinksError.self) {
            try await installation.resetPassword(token: reset, newPassword: "yet another passphrase", caller: "f")
        }
        await #expect(throws: PortalLinksError.self) { try await installation.verifySession(session.token) }
        _ = try await installation.signIn(email: "ana@example.com", password: "a brand new passphrase", caller: "f")
        let late = try #require(try await installation.requestPasswordReset(email: "ana@example.com", caller: "f")).token
        home.clock.advance(by: 3_600 + 61)
        await #expect(throws: PortalLinksError.self) { try await installation.resetPassword(token: late, newPassword: "too late passphrase", caller: "f") }
    }

    @Test func theActivityLogHoldsNoSecrets() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        _ = try? await installation.signIn(email: "ana@example.com", password: "wrong pass 123", caller: "f")
        let grant = try await installation.signIn(email: "ana@example.com", password: Self.password, caller: "f")
        let reset = try await installation.requestPasswordReset(email: "ana@example.com", caller: "f")!.token
        try await installation.signOut(grant.token, caller: "f")
        let hash = try await installation.store.account(email: EmailAddress("ana@example.com")!)!.passwordHash
        let entries = try await installation.store.activity(account: nil, client: .text("acme"))
        #expect(Set(entries.map(\.event)) == ["account.register", "account.sign_in", "account.reset_request", "session.sign_out"])
        let text = entries.map { "\($0)" }.joined(separator: "\n") + (try await installation.store.auditEntries()).map { "\($0)" }.joined()
        for secret in [Self.password, "wrong pass 123", grant.token, reset, link, hash] { #expect(!text.contains(secret)) }
    }

    @Test func invitationStatusFollowsTheLink() async throws {
        let (home, installation, link) = try await Self.setUp()
        defer { home.remove() }
        func status(_ id: LinkID) async throws -> String {
            let entry = try #require(try await installation.store.ledgerEntry(id))
            let revocation = try await installation.store.revocationStatus(of: id, client: entry.clientID)
            return try await installation.invitation(entry, revocation: revocation).status
        }
        let linkID = try #require(try await installation.loadVerifier().verify(link, at: home.clock.now).linkID)
        #expect(try await status(linkID) == "pending")
        try await installation.register(link: link, email: "ana@example.com", password: Self.password, displayName: nil, caller: "f")
        #expect(try await status(linkID) == "accepted")
        let revoked = try await installation.issue(IssueRequest(clientID: .text("acme")))
        _ = try await installation.revokeLink(revoked.linkID)
        #expect(try await status(revoked.linkID) == "revoked")
        let expiring = try await installation.issue(IssueRequest(clientID: .text("acme"), expiresAt: home.clock.now + 60))
        home.clock.advance(by: 61)
        #expect(try await status(expiring.linkID) == "expired")
    }
}
