import PortalLinksCore
import PortalLinksStore
import Testing

/// Accounts, sign-in counting and what ends sessions, the same in every store.
@Suite struct AccountStoreConformanceTests {
    static let alreadyExists = PortalLinksError(.alreadyExists, "an account with that email exists already")

    @Test(arguments: StoreKind.allCases)
    func accountsAreCreatedFoundAndListed(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = try await Sample.link(store)
            let other = try await Sample.link(store, 0x2000, client: "globex")
            let ana = try await store.createAccount(email: EmailAddress(" Ana@Example.com ")!, clientID: .text("acme"),
                                                    displayName: "Ana", passwordHash: Sample.passwordHash, link: link,
                                                    caller: "frontend", at: Sample.now)
            #expect(ana.email.normalized == "ana@example.com" && ana.displayName == "Ana" && ana.clientID == .text("acme"))
            #expect(ana.epoch == 0 && ana.failedAttempts == 0 && ana.signInCount == 0 && ana.createdAt == Sample.now)
            let bo = try await Sample.createAccount(store, "bo@example.com", link: other, client: "globex")
            #expect(bo.id > ana.id)
            #expect(try await store.account(email: EmailAddress("ANA@example.com")!) == ana)
            #expect(try await fixture.reopen().account(id: bo.id) == bo)
            #expect(try await store.account(id: 999_999) == nil)
            #expect(try await store.accounts(client: nil, link: nil).map(\.email.normalized) == ["ana@example.com", "bo@example.com"])
            #expect(try await store.accounts(client: .text("globex"), link: nil) == [bo])
            #expect(try await store.accounts(client: .text("acme"), link: other).isEmpty)
            #expect(try await store.activity(account: EmailAddress("ana@example.com"), client: nil).map(\.result) == ["ok link \(link)"])
            #expect(try await store.generation() == 1, "registering does not change what verifiers hold")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anEmailInAnotherCaseIsTheSameAccount(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let link = try await Sample.link(fixture.store)
            _ = try await Sample.createAccount(fixture.store, "ana@example.com", link: link)
            await #expect(throws: Self.alreadyExists) { try await Sample.createAccount(fixture.store, "ANA@Example.COM", link: link) }
            await #expect(throws: Self.alreadyExists) { try await Sample.createAccount(fixture.reopen(), "ana@example.com", link: link) }
            #expect(try await fixture.store.accounts(client: nil, link: nil).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentRegistrationsOfOneEmailFromTwoHandlesCreateOneAccount(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let link = try await Sample.link(fixture.store)
            let handles = [fixture.store, try await fixture.reopen()]
            let outcomes = await withTaskGroup(of: Result<Int64, PortalLinksError>.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        do {
                            let email = index.isMultiple(of: 2) ? "ana@example.com" : "Ana@EXAMPLE.com"
                            return .success(try await Sample.createAccount(handles[index % 2], email, link: link).id)
                        } catch let error as PortalLinksError {
                            return .failure(error)
                        } catch {
                            return .failure(PortalLinksError(.corrupt, "unexpected \(error)"))
                        }
                    }
                }
                return await group.reduce(into: [Result<Int64, PortalLinksError>]()) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .success = $0 { true } else { false } }.count == 1)
            for case .failure(let error) in outcomes { #expect(error == Self.alreadyExists) }
            #expect(try await fixture.store.accounts(client: nil, link: nil).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLinksAccountCapHoldsUnderConcurrency(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = try await Sample.link(store, maximumAccounts: 3)
            #expect(try await store.ledgerEntry(link)?.maximumAccounts == 3)
            let handles = [store, try await fixture.reopen()]
            let created = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask { (try? await Sample.createAccount(handles[index % 2], "user\(index)@example.com", link: link)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(created == 3)
            await #expect(throws: PortalLinksError(.conflict, "link \(link) has reached its limit of 3 accounts", reason: "link_full")) {
                try await Sample.createAccount(store, "late@example.com", link: link)
            }
            try await store.setMaximumAccounts(nil, for: link)
            _ = try await Sample.createAccount(store, "late@example.com", link: link)
            try await store.setMaximumAccounts(4, for: link)
            #expect(try await store.ledgerEntry(link)?.maximumAccounts == 4)
            await #expect(throws: PortalLinksError(.notFound, "no link \(LinkID(rawValue: 0x9999)) in the ledger")) {
                try await store.setMaximumAccounts(2, for: LinkID(rawValue: 0x9999))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentFailedSignInsAreEachCounted(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let link = try await Sample.link(fixture.store)
            let account = try await Sample.createAccount(fixture.store, "ana@example.com", link: link)
            let handles = [fixture.store, try await fixture.reopen()]
            let lenient = LockoutPolicy(maximumFailures: 100, lockSeconds: 60)
            let attempts = 24
            try await withThrowingTaskGroup(of: SignInRecording.self) { group in
                for index in 0..<attempts {
                    group.addTask {
                        try await handles[index % 2].recordSignIn(account: account.id, passwordMatched: false, rehash: nil, lockout: lenient,
                                                                  caller: "frontend", at: Sample.now)
                    }
                }
                for try await recording in group { #expect(recording == .failed(locked: false)) }
            }
            #expect(try await fixture.store.account(id: account.id)?.failedAttempts == attempts)
            let failures = try await fixture.store.activity(account: account.email, client: nil).filter { $0.result == "failed" }
            #expect(failures.count == attempts)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theLockComesAtTheLimitAndLockedAttemptsAreRefusedUncounted(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = try await Sample.link(store)
            let account = try await Sample.createAccount(store, "ana@example.com", link: link)
            let policy = LockoutPolicy(maximumFailures: 5, lockSeconds: 900)
            let handles = [store, try await fixture.reopen()]
            // Seven wrong passwords at once: exactly the fifth locks, the two after it are refused.
            let recordings = try await withThrowingTaskGroup(of: SignInRecording.self) { group in
                for index in 0..<7 {
                    group.addTask {
                        try await handles[index % 2].recordSignIn(account: account.id, passwordMatched: false, rehash: nil,
                                                                  lockout: policy, caller: "frontend", at: Sample.now)
                    }
                }
                return try await group.reduce(into: [SignInRecording]()) { $0.append($1) }
            }
            #expect(recordings.filter { $0 == .failed(locked: false) }.count == 4)
            #expect(recordings.filter { $0 == .failed(locked: true) }.count == 1)
            #expect(recordings.filter { $0 == .refused }.count == 2)
            let locked = try #require(try await store.account(id: account.id))
            #expect(locked.lockedUntil == Sample.now + 900 && locked.isLocked(at: Sample.now + 899))

            #expect(try await store.recordSignIn(account: account.id, passwordMatched: true, rehash: nil, lockout: policy,
                                                 caller: "frontend", at: Sample.now + 899) == .refused)
            #expect(try await store.unlock(email: account.email, actor: "staff", at: Sample.now + 899))
            #expect(try await !store.unlock(email: account.email, actor: "staff", at: Sample.now + 899), "nothing left to unlock")
            let rehash = "$argon2id$v=19$m=512,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA"
            guard case .signedIn(let signedIn) = try await store.recordSignIn(account: account.id, passwordMatched: true, rehash: rehash,
                                                                               lockout: policy, caller: "frontend", at: Sample.now + 900)
            else { Issue.record("the unlocked account could not sign in"); return }
            #expect(signedIn.signInCount == 1 && signedIn.lastSignInAt == Sample.now + 900 && signedIn.passwordHash == rehash)
            #expect(signedIn.failedAttempts == 0 && signedIn.lockedUntil == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func signOutAndStaffChangesEndSessionsAndBumpTheGeneration(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = try await Sample.link(store)
            let ana = try await Sample.createAccount(store, "ana@example.com", link: link)
            let bo = try await Sample.createAccount(store, "bo@example.com", link: link)
            let cy = try await Sample.createAccount(store, "cy@example.com", link: link)
            let dee = try await Sample.createAccount(store, "dee@example.com", link: link)
            var generation = try await store.generation()
            func expectBump(_ change: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let now = try await store.generation()
                #expect(now == generation + 1, "\(change) bumps the generation once", sourceLocation: sourceLocation)
                generation = now
            }

            try await store.signOut(session: 42, account: ana.id, keptUntil: Sample.now + 3_600, caller: "frontend", at: Sample.now)
            try await expectBump("a sign-out")
            try await store.signOut(session: 42, account: ana.id, keptUntil: Sample.now + 3_600, caller: "frontend", at: Sample.now)
            #expect(try await store.generation() == generation, "signing out twice changes nothing")

            #expect(try await store.setAccount(email: bo.email, disabled: true, actor: "staff", at: Sample.now))
            try await expectBump("disabling")
            #expect(try await !store.setAccount(email: bo.email, disabled: true, actor: "staff", at: Sample.now))
            #expect(try await store.moveAccount(email: cy.email, to: .text("globex"), actor: "staff", at: Sample.now))
            try await expectBump("a move")
            #expect(try await !store.moveAccount(email: cy.email, to: .text("globex"), actor: "staff", at: Sample.now))
            #expect(try await store.removeAccount(email: dee.email, actor: "staff", at: Sample.now))
            try await expectBump("a removal")
            #expect(try await !store.removeAccount(email: dee.email, actor: "staff", at: Sample.now))
            await #expect(throws: PortalLinksError(.notFound, "no account for \(dee.email)")) {
                try await store.setAccount(email: dee.email, disabled: true, actor: "staff", at: Sample.now)
            }

            let endings = try await fixture.reopen().sessionEndings(at: Sample.now, window: 3_600)
            #expect(endings.signedOut == [42])
            #expect(endings.blockedAccounts == [bo.id, dee.id], "the disabled account, and the removed one until its sessions expire")
            #expect(endings.epochs == [bo.id: 1, cy.id: 1], "disabling and moving raise the epoch")
            #expect(try await store.account(id: cy.id)?.clientID == .text("globex"))
            #expect(try await store.account(id: dee.id) == nil)
            #expect(try await store.sessionEndings(at: Sample.now + 3_601, window: 3_600).signedOut.isEmpty, "kept only until it would expire")

            #expect(try await store.setClient(.text("acme"), disabled: true, actor: "staff", at: Sample.now))
            #expect(try await store.sessionEndings(at: Sample.now, window: 3_600).blockedAccounts == [ana.id, bo.id, dee.id],
                    "a disabled client blocks its accounts")
            #expect(try await store.recordSignIn(account: ana.id, passwordMatched: true, rehash: nil, lockout: LockoutPolicy(),
                                                 caller: "frontend", at: Sample.now) == .refused)
            let operations = try await store.auditEntries().map(\.operation).filter { $0.hasPrefix("account.") }
            #expect(operations == ["account.disable", "account.move", "account.remove"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aPasswordChangeWithAnExpectedEpochWorksOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            let link = try await Sample.link(store)
            let ana = try await Sample.createAccount(store, "ana@example.com", link: link)
            let generation = try await store.generation()
            let newHash = "$argon2id$v=19$m=256,t=1,p=1$b3RoZXI$b3RoZXJoYXNo"
            let handles = [store, try await fixture.reopen()]
            // Two resets with the same token at once: one wins.
            let changed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for handle in handles {
                    group.addTask {
                        try await handle.setPassword(account: ana.id, hash: newHash, expectedEpoch: 0, event: "account.reset",
                                                     caller: "frontend", at: Sample.now + 10)
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(changed.filter { $0 }.count == 1)
            let after = try #require(try await store.account(id: ana.id))
            #expect(after.epoch == 1 && after.passwordHash == newHash)
            #expect(try await store.generation() == generation + 1)
            #expect(try await store.sessionEndings(at: Sample.now + 10, window: 60).epochs == [ana.id: 1])
            #expect(try await store.setPassword(account: ana.id, hash: Sample.passwordHash, expectedEpoch: nil, event: "account.password",
                                                caller: "frontend", at: Sample.now + 20))
            #expect(try await store.account(id: ana.id)?.epoch == 2)
            #expect(try await !store.setPassword(account: 999_999, hash: Sample.passwordHash, expectedEpoch: nil, event: "account.password",
                                                 caller: "frontend", at: Sample.now))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func activityIsKeptInOrderAndFiltered(_ kind: StoreKind) async throws {
        try await kind.withStore { fixture in
            let store = fixture.store
            try await store.recordActivity(ActivityEntry(at: Sample.now, event: "account.sign_in", account: "ana@example.com",
                                                         clientID: "acme", caller: "frontend", result: "refused unknown"))
            try await store.recordActivity(ActivityEntry(at: Sample.now + 1, event: "account.reset_request", account: nil,
                                                         clientID: nil, caller: "frontend", result: "ok"))
            try await store.recordActivity(ActivityEntry(at: Sample.now + 2, event: "account.sign_in", account: "bo@example.com",
                                                         clientID: "globex", caller: "frontend", result: "refused unknown"))
            let all = try await store.activity(account: nil, client: nil)
            #expect(all.map(\.at) == [Sample.now, Sample.now + 1, Sample.now + 2])
            #expect(all.map(\.sequence) == all.map(\.sequence).sorted() && Set(all.map(\.sequence)).count == 3)
            #expect(all[1].account == nil && all[1].clientID == nil)
            #expect(try await store.activity(account: EmailAddress("bo@example.com"), client: nil).map(\.clientID) == ["globex"])
            #expect(try await store.activity(account: nil, client: .text("acme")).map(\.account) == ["ana@example.com"])
            #expect(try await store.activity(account: EmailAddress("bo@example.com"), client: .text("acme")).isEmpty)
            #expect(try await store.generation() == 0)
        }
    }
}
