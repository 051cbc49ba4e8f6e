import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    public func createAccount(email: EmailAddress, clientID: ClientID, displayName: String?, passwordHash: String, link: LinkID,
                              caller: String, at now: Int64) async throws -> AccountRecord {
        try await write { connection in
            // The unique index decides races; this check only gives the usual case a clear error.
            if try await Self.fetchAccount(connection, email: email) != nil {
                throw PortalLinksError(.alreadyExists, "an account with that email exists already")
            }
            let linkRow = Int64(bitPattern: link.rawValue)
            if let maximum = try await connection.value("SELECT max_accounts FROM links WHERE link_id = \(linkRow)", as: Int?.self) ?? nil {
                let used = try await connection.value("SELECT count(*) FROM accounts WHERE link_id = \(linkRow)", as: Int.self) ?? 0
                guard used < maximum else {
                    throw PortalLinksError(.conflict, "link \(link) has reached its limit of \(maximum) accounts", reason: "link_full")
                }
            }
            let id: Int64
            do {
                id = try await connection.value("""
                    INSERT INTO accounts (email, client_id, display_name, password_hash, link_id, created_at)
                    VALUES (\(email.normalized), \(clientID.description), \(displayName), \(passwordHash), \(linkRow), \(now))
                    RETURNING account_id
                    """, as: Int64.self)!
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == SQLState.uniqueViolation {
                throw PortalLinksError(.alreadyExists, "an account with that email exists already")
            }
            try await Self.insertActivity(ActivityEntry(at: now, event: "account.register", account: email.normalized,
                                                        clientID: clientID.description, caller: caller, result: "ok link \(link)"), connection)
            return try await Self.fetchAccount(connection, id: id)!
        }
    }

    public func account(email: EmailAddress) async throws -> AccountRecord? {
        try await read { connection in try await Self.fetchAccount(connection, email: email) }
    }

    public func account(id: Int64) async throws -> AccountRecord? {
        try await read { connection in try await Self.fetchAccount(connection, id: id) }
    }

    public func accounts(client: ClientID?, link: LinkID?) async throws -> [AccountRecord] {
        try await read { connection in
            let linkRow = link.map { Int64(bitPattern: $0.rawValue) }
            return try await connection.rows("""
                SELECT * FROM accounts
                WHERE (\(client?.description)::TEXT IS NULL OR client_id = \(client?.description))
                  AND (\(linkRow)::BIGINT IS NULL OR link_id = \(linkRow))
                ORDER BY email COLLATE "C"
                """).map { try Self.account(StoredRow($0)) }
        }
    }

    public func recordSignIn(account id: Int64, passwordMatched: Bool, rehash: String?, lockout: LockoutPolicy,
                             caller: String, at now: Int64) async throws -> SignInRecording {
        try await write { connection in
            guard let account = try await Self.fetchAccount(connection, id: id) else { return .refused }
            func log(_ event: String, _ result: String) async throws {
                try await Self.insertActivity(ActivityEntry(at: now, event: event, account: account.email.normalized,
                                                            clientID: account.clientID.description, caller: caller, result: result),
                                              connection)
            }
            let clientDisabled = try await connection.run(
                "SELECT 1 FROM disabled_clients WHERE client_id = \(account.clientID.description)") > 0
            if account.disabledAt != nil || clientDisabled || account.isLocked(at: now) {
                try await log("account.sign_in", account.disabledAt != nil ? "refused disabled"
                              : clientDisabled ? "refused client disabled" : "refused locked")
                return .refused
            }
            if passwordMatched {
                try await connection.run("""
                    UPDATE accounts SET failed_attempts = 0, locked_until = NULL, last_sign_in_at = \(now),
                        sign_in_count = sign_in_count + 1, password_hash = coalesce(\(rehash)::TEXT, password_hash)
                    WHERE account_id = \(id)
                    """)
                try await log("account.sign_in", rehash == nil ? "ok" : "ok rehashed")
                return .signedIn(try await Self.fetchAccount(connection, id: id)!)
            }
            // A lock that has run out starts the count again.
            let failures = (account.lockedUntil == nil ? account.failedAttempts : 0) + 1
            let locks = failures >= lockout.maximumFailures
            let lockedUntil: Int64? = locks ? now + lockout.lockSeconds : nil
            try await connection.run("""
                UPDATE accounts SET failed_attempts = \(locks ? 0 : failures), locked_until = \(lockedUntil) WHERE account_id = \(id)
                """)
            try await log("account.sign_in", "failed")
            if locks { try await log("account.lockout", "locked until \(now + lockout.lockSeconds)") }
            return .failed(locked: locks)
        }
    }

    public func setPassword(account id: Int64, hash: String, expectedEpoch: Int64?, event: String, caller: String,
                            at now: Int64) async throws -> Bool {
        try await write { connection in
            let changed = try await connection.run("""
                UPDATE accounts SET password_hash = \(hash), epoch = epoch + 1, epoch_changed_at = \(now), failed_attempts = 0,
                    locked_until = NULL
                WHERE account_id = \(id) AND (\(expectedEpoch)::BIGINT IS NULL OR epoch = \(expectedEpoch))
                RETURNING account_id
                """)
            guard changed > 0, let account = try await Self.fetchAccount(connection, id: id) else { return false }
            try await self.bumpGeneration(connection)
            try await Self.insertActivity(ActivityEntry(at: now, event: event, account: account.email.normalized,
                                                        clientID: account.clientID.description, caller: caller, result: "ok"), connection)
            return true
        }
    }

    public func signOut(session: UInt64, account id: Int64, keptUntil: Int64, caller: String, at now: Int64) async throws {
        try await write { connection in
            let inserted = try await connection.run("""
                INSERT INTO signed_out_sessions (session_id, account_id, kept_until)
                VALUES (\(Int64(bitPattern: session)), \(id), \(keptUntil))
                ON CONFLICT (session_id) DO NOTHING RETURNING session_id
                """)
            guard inserted > 0 else { return }
            try await self.bumpGeneration(connection)
            let account = try await Self.fetchAccount(connection, id: id)
            try await Self.insertActivity(ActivityEntry(at: now, event: "session.sign_out", account: account?.email.normalized,
                                                        clientID: account?.clientID.description, caller: caller, result: "ok"),
                                          connection)
        }
    }

    public func sessionEndings(at now: Int64, window: Int64) async throws -> SessionVerifier.Endings {
        try await read { connection in
            var endings = SessionVerifier.Endings()
            for row in try await connection.rows("SELECT account_id, epoch FROM accounts WHERE epoch_changed_at >= \(now - window)") {
                let (account, epoch) = try row.decode((Int64, Int64).self)
                endings.epochs[account] = epoch
            }
            for row in try await connection.rows("SELECT session_id FROM signed_out_sessions WHERE kept_until >= \(now)") {
                endings.signedOut.insert(UInt64(bitPattern: try row.decode(Int64.self)))
            }
            endings.blockedAccounts = Set(try await connection.rows("""
                SELECT account_id FROM accounts
                WHERE disabled_at IS NOT NULL OR client_id IN (SELECT client_id FROM disabled_clients)
                UNION SELECT account_id FROM removed_accounts WHERE kept_until >= \(now)
                """).map { try $0.decode(Int64.self) })
            return endings
        }
    }

    public func setAccount(email: EmailAddress, disabled: Bool, actor: String, at now: Int64) async throws -> Bool {
        try await staffChange(email, event: disabled ? "account.disable" : "account.enable", actor: actor, at: now) { id in
            disabled
                ? "UPDATE accounts SET disabled_at = \(now), epoch = epoch + 1, epoch_changed_at = \(now) WHERE account_id = \(id) AND disabled_at IS NULL RETURNING account_id"
                : "UPDATE accounts SET disabled_at = NULL WHERE account_id = \(id) AND disabled_at IS NOT NULL RETURNING account_id"
        }
    }

    public func unlock(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool {
        try await staffChange(email, event: "account.unlock", actor: actor, at: now) { id in
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE account_id = \(id) AND (locked_until > \(now) OR failed_attempts > 0) RETURNING account_id"
        }
    }

    public func removeAccount(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool {
        try await write { connection in
            guard let account = try await Self.fetchAccount(connection, email: email) else { return false }
            try await connection.run("DELETE FROM accounts WHERE account_id = \(account.id)")
            // Its sessions end with it: the removed account stays blocked until they would have expired anyway.
            let keptUntil = now + SessionVerifier.defaultAbsoluteLimit + LinkVerifier.defaultLeeway
            try await connection.run("""
                INSERT INTO removed_accounts (account_id, kept_until) VALUES (\(account.id), \(keptUntil))
                ON CONFLICT (account_id) DO UPDATE SET kept_until = excluded.kept_until
                """)
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("account.remove", "account \(account.email) client \(account.clientID)")],
                                       actor: actor, at: now, connection)
            try await Self.insertActivity(ActivityEntry(at: now, event: "account.remove", account: account.email.normalized,
                                                        clientID: account.clientID.description, caller: actor, result: "ok"), connection)
            return true
        }
    }

    public func moveAccount(email: EmailAddress, to client: ClientID, actor: String, at now: Int64) async throws -> Bool {
        try await write { connection in
            guard let account = try await Self.fetchAccount(connection, email: email), account.clientID != client else { return false }
            try await connection.run("""
                UPDATE accounts SET client_id = \(client.description), epoch = epoch + 1, epoch_changed_at = \(now)
                WHERE account_id = \(account.id)
                """)
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent("account.move", "account \(account.email) client \(account.clientID) -> \(client)")],
                                       actor: actor, at: now, connection)
            try await Self.insertActivity(ActivityEntry(at: now, event: "account.move", account: account.email.normalized,
                                                        clientID: client.description, caller: actor, result: "ok from \(account.clientID)"),
                                          connection)
            return true
        }
    }

    public func recordActivity(_ entry: ActivityEntry) async throws {
        try await write { connection in try await Self.insertActivity(entry, connection) }
    }

    public func activity(account: EmailAddress?, client: ClientID?) async throws -> [ActivityEntry] {
        try await read { connection in
            try await connection.rows("""
                SELECT * FROM activity
                WHERE (\(account?.normalized)::TEXT IS NULL OR account = \(account?.normalized))
                  AND (\(client?.description)::TEXT IS NULL OR client_id = \(client?.description))
                ORDER BY sequence
                """).map(StoredRow.init).map { row in
                ActivityEntry(sequence: try row["sequence"], at: try row["at"], event: try row["event"], account: try row["account"],
                              clientID: try row["client_id"], caller: try row["caller"], result: try row["result"])
            }
        }
    }

    public func setMaximumAccounts(_ maximum: Int?, for link: LinkID) async throws {
        try await write { connection in
            let changed = try await connection.run("""
                UPDATE links SET max_accounts = \(maximum) WHERE link_id = \(Int64(bitPattern: link.rawValue)) RETURNING link_id
                """)
            guard changed > 0 else { throw PortalLinksError(.notFound, "no link \(link) in the ledger") }
        }
    }

    // MARK: Rows

    /// A staff change to one account: `statement` (given the account's ID) counts when it returns a row, and
    /// then ends sessions on every server (generation) and is audited.
    private func staffChange(_ email: EmailAddress, event: String, actor: String, at now: Int64,
                             statement: @Sendable (Int64) -> PostgresQuery) async throws -> Bool {
        try await write { connection in
            guard let account = try await Self.fetchAccount(connection, email: email) else {
                throw PortalLinksError(.notFound, "no account for \(email)")
            }
            guard try await connection.run(statement(account.id)) > 0 else { return false }
            try await self.bumpGeneration(connection)
            try await self.appendAudit([AuditEvent(event, "account \(account.email) client \(account.clientID)")], actor: actor, at: now, connection)
            try await Self.insertActivity(ActivityEntry(at: now, event: event, account: account.email.normalized,
                                                        clientID: account.clientID.description, caller: actor, result: "ok"), connection)
            return true
        }
    }

    static func insertActivity(_ entry: ActivityEntry, _ connection: PostgresConnection) async throws {
        try await connection.run("""
            INSERT INTO activity (at, event, account, client_id, caller, result)
            VALUES (\(entry.at), \(entry.event), \(entry.account), \(entry.clientID), \(entry.caller), \(entry.result))
            """)
    }

    /// By the folded form the unique index holds, so that the lookup uses it.
    static func fetchAccount(_ connection: PostgresConnection, email: EmailAddress) async throws -> AccountRecord? {
        try await connection.rows("SELECT * FROM accounts WHERE email = \(email.normalized)")
            .first.map { try account(StoredRow($0)) }
    }

    static func fetchAccount(_ connection: PostgresConnection, id: Int64) async throws -> AccountRecord? {
        try await connection.rows("SELECT * FROM accounts WHERE account_id = \(id)").first.map { try account(StoredRow($0)) }
    }

    static func account(_ row: StoredRow) throws -> AccountRecord {
        AccountRecord(id: try row["account_id"], email: EmailAddress(normalized: try row["email"]),
                      clientID: try clientID(try row["client_id"]), displayName: try row["display_name"],
                      passwordHash: try row["password_hash"], epoch: try row["epoch"],
                      linkID: LinkID(rawValue: UInt64(bitPattern: try row["link_id"])), createdAt: try row["created_at"],
                      disabledAt: try row["disabled_at"], failedAttempts: try row["failed_attempts"],
                      lockedUntil: try row["locked_until"], lastSignInAt: try row["last_sign_in_at"],
                      signInCount: try row["sign_in_count"])
    }
}
