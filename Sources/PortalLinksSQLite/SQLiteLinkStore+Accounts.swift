import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    public func createAccount(email: EmailAddress, clientID: ClientID, displayName: String?, passwordHash: String, link: LinkID,
                              caller: String, at now: Int64) async throws -> AccountRecord {
        try await write { db in
            // The UNIQUE constraint decides races; this check only gives the usual case a clear error.
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE email = ?", arguments: [email.normalized]) ?? false {
                throw PortalLinksError(.alreadyExists, "an account with that email exists already")
            }
            let linkRow = Int64(bitPattern: link.rawValue)
            if let maximum = try Int.fetchOne(db, sql: "SELECT max_accounts FROM links WHERE link_id = ?", arguments: [linkRow]) {
                let used = try Int.fetchOne(db, sql: "SELECT count(*) FROM accounts WHERE link_id = ?", arguments: [linkRow]) ?? 0
                guard used < maximum else {
                    throw PortalLinksError(.conflict, "link \(link) has reached its limit of \(maximum) accounts", reason: "link_full")
                }
            }
            do {
                try db.execute(sql: """
                    INSERT INTO accounts (email, client_id, display_name, password_hash, link_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [email.normalized, clientID.description, displayName, passwordHash, linkRow, now])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw PortalLinksError(.alreadyExists, "an account with that email exists already")
            }
            let id = db.lastInsertedRowID
            try Self.insertActivity(ActivityEntry(at: now, event: "account.register", account: email.normalized,
                                                  clientID: clientID.description, caller: caller, result: "ok link \(link)"), db)
            return try Self.fetchAccount(db, where: "account_id = ?", [id])!
        }
    }

    public func account(email: EmailAddress) async throws -> AccountRecord? {
        try await read { db in try Self.fetchAccount(db, where: "email = ?", [email.normalized]) }
    }

    public func account(id: Int64) async throws -> AccountRecord? {
        try await read { db in try Self.fetchAccount(db, where: "account_id = ?", [id]) }
    }

    public func accounts(client: ClientID?, link: LinkID?) async throws -> [AccountRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let client {
                conditions.append("client_id = ?")
                _ = arguments.append(contentsOf: [client.description])
            }
            if let link {
                conditions.append("link_id = ?")
                _ = arguments.append(contentsOf: [Int64(bitPattern: link.rawValue)])
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM accounts \(filter) ORDER BY email", arguments: arguments).map(Self.account)
        }
    }

    public func recordSignIn(account id: Int64, passwordMatched: Bool, rehash: String?, lockout: LockoutPolicy,
                             caller: String, at now: Int64) async throws -> SignInRecording {
        try await write { db in
            guard let account = try Self.fetchAccount(db, where: "account_id = ?", [id]) else { return .refused }
            let subject = (account.email.normalized, account.clientID.description)
            func log(_ event: String, _ result: String) throws {
                try Self.insertActivity(ActivityEntry(at: now, event: event, account: subject.0, clientID: subject.1,
                                                      caller: caller, result: result), db)
            }
            let clientDisabled = try Bool.fetchOne(db, sql: "SELECT 1 FROM disabled_clients WHERE client_id = ?",
                                                   arguments: [account.clientID.description]) ?? false
            if account.disabledAt != nil || clientDisabled || account.isLocked(at: now) {
                try log("account.sign_in", account.disabledAt != nil ? "refused disabled"
                        : clientDisabled ? "refused client disabled" : "refused locked")
                return .refused
            }
            if passwordMatched {
                try db.execute(sql: """
                    UPDATE accounts SET failed_attempts = 0, locked_until = NULL, last_sign_in_at = ?,
                        sign_in_count = sign_in_count + 1, password_hash = coalesce(?, password_hash)
                    WHERE account_id = ?
                    """, arguments: [now, rehash, id])
                try log("account.sign_in", rehash == nil ? "ok" : "ok rehashed")
                return .signedIn(try Self.fetchAccount(db, where: "account_id = ?", [id])!)
            }
            // A lock that has run out starts the count again.
            let failures = (account.lockedUntil == nil ? account.failedAttempts : 0) + 1
            let locks = failures >= lockout.maximumFailures
            try db.execute(sql: "UPDATE accounts SET failed_attempts = ?, locked_until = ? WHERE account_id = ?",
                           arguments: [locks ? 0 : failures, locks ? now + lockout.lockSeconds : nil, id])
            try log("account.sign_in", "failed")
            if locks { try log("account.lockout", "locked until \(now + lockout.lockSeconds)") }
            return .failed(locked: locks)
        }
    }

    public func setPassword(account id: Int64, hash: String, expectedEpoch: Int64?, event: String, caller: String,
                            at now: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE accounts SET password_hash = ?, epoch = epoch + 1, epoch_changed_at = ?, failed_attempts = 0,
                    locked_until = NULL
                WHERE account_id = ? AND (? IS NULL OR epoch = ?)
                """, arguments: [hash, now, id, expectedEpoch, expectedEpoch])
            guard db.changesCount > 0, let account = try Self.fetchAccount(db, where: "account_id = ?", [id]) else { return false }
            try self.bumpGeneration(db)
            try Self.insertActivity(ActivityEntry(at: now, event: event, account: account.email.normalized,
                                                  clientID: account.clientID.description, caller: caller, result: "ok"), db)
            return true
        }
    }

    public func signOut(session: UInt64, account id: Int64, keptUntil: Int64, caller: String, at now: Int64) async throws {
        try await write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO signed_out_sessions (session_id, account_id, kept_until) VALUES (?, ?, ?)",
                           arguments: [Int64(bitPattern: session), id, keptUntil])
            guard db.changesCount > 0 else { return }
            try self.bumpGeneration(db)
            let account = try Self.fetchAccount(db, where: "account_id = ?", [id])
            try Self.insertActivity(ActivityEntry(at: now, event: "session.sign_out", account: account?.email.normalized,
                                                  clientID: account?.clientID.description, caller: caller, result: "ok"), db)
        }
    }

    public func sessionEndings(at now: Int64, window: Int64) async throws -> SessionVerifier.Endings {
        try await read { db in
            var endings = SessionVerifier.Endings()
            for row in try Row.fetchAll(db, sql: "SELECT account_id, epoch FROM accounts WHERE epoch_changed_at >= ?",
                                        arguments: [now - window]) {
                endings.epochs[row["account_id"]] = row["epoch"]
            }
            for session in try Int64.fetchAll(db, sql: "SELECT session_id FROM signed_out_sessions WHERE kept_until >= ?",
                                              arguments: [now]) {
                endings.signedOut.insert(UInt64(bitPattern: session))
            }
            endings.blockedAccounts = Set(try Int64.fetchAll(db, sql: """
                SELECT account_id FROM accounts
                WHERE disabled_at IS NOT NULL OR client_id IN (SELECT client_id FROM disabled_clients)
                UNION SELECT account_id FROM removed_accounts WHERE kept_until >= ?
                """, arguments: [now]))
            return endings
        }
    }

    public func setAccount(email: EmailAddress, disabled: Bool, actor: String, at now: Int64) async throws -> Bool {
        try await staffChange(email, event: disabled ? "account.disable" : "account.enable", actor: actor, at: now,
                              sql: disabled
                                ? "UPDATE accounts SET disabled_at = ?1, epoch = epoch + 1, epoch_changed_at = ?1 WHERE email = ?2 AND disabled_at IS NULL"
                                : "UPDATE accounts SET disabled_at = NULL WHERE email = ?2 AND disabled_at IS NOT NULL AND ?1 IS NOT NULL")
    }

    public func unlock(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool {
        try await staffChange(email, event: "account.unlock", actor: actor, at: now,
                              sql: "UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE email = ?2 AND (locked_until > ?1 OR failed_attempts > 0)")
    }

    public func removeAccount(email: EmailAddress, actor: String, at now: Int64) async throws -> Bool {
        try await write { db in
            guard let account = try Self.fetchAccount(db, where: "email = ?", [email.normalized]) else { return false }
            try db.execute(sql: "DELETE FROM accounts WHERE account_id = ?", arguments: [account.id])
            // Its sessions end with it: the removed account stays blocked until they would have expired anyway.
            try db.execute(sql: "INSERT OR REPLACE INTO removed_accounts (account_id, kept_until) VALUES (?, ?)",
                           arguments: [account.id, now + SessionVerifier.defaultAbsoluteLimit + LinkVerifier.defaultLeeway])
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("account.remove", "account \(account.email) client \(account.clientID)")], actor: actor, at: now, db)
            try Self.insertActivity(ActivityEntry(at: now, event: "account.remove", account: account.email.normalized,
                                                  clientID: account.clientID.description, caller: actor, result: "ok"), db)
            return true
        }
    }

    public func moveAccount(email: EmailAddress, to client: ClientID, actor: String, at now: Int64) async throws -> Bool {
        try await write { db in
            guard let account = try Self.fetchAccount(db, where: "email = ?", [email.normalized]),
                  account.clientID != client else { return false }
            try db.execute(sql: "UPDATE accounts SET client_id = ?, epoch = epoch + 1, epoch_changed_at = ? WHERE account_id = ?",
                           arguments: [client.description, now, account.id])
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent("account.move", "account \(account.email) client \(account.clientID) -> \(client)")],
                                 actor: actor, at: now, db)
            try Self.insertActivity(ActivityEntry(at: now, event: "account.move", account: account.email.normalized,
                                                  clientID: client.description, caller: actor, result: "ok from \(account.clientID)"), db)
            return true
        }
    }

    public func recordActivity(_ entry: ActivityEntry) async throws {
        try await write { db in try Self.insertActivity(entry, db) }
    }

    public func activity(account: EmailAddress?, client: ClientID?) async throws -> [ActivityEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM activity WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR client_id = ?2) ORDER BY sequence
                """, arguments: [account?.normalized, client?.description]).map { row in
                ActivityEntry(sequence: row["sequence"], at: row["at"], event: row["event"], account: row["account"],
                              clientID: row["client_id"], caller: row["caller"], result: row["result"])
            }
        }
    }

    public func setMaximumAccounts(_ maximum: Int?, for link: LinkID) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE links SET max_accounts = ? WHERE link_id = ?", arguments: [maximum, Int64(bitPattern: link.rawValue)])
            guard db.changesCount > 0 else { throw PortalLinksError(.notFound, "no link \(link) in the ledger") }
        }
    }

    // MARK: Rows

    /// A staff change to one account: the statement gets `now` as ?1 and the email as ?2; the change counts
    /// when it touched a row, and then ends sessions on every server (generation) and is audited.
    private func staffChange(_ email: EmailAddress, event: String, actor: String, at now: Int64, sql: String) async throws -> Bool {
        try await write { db in
            guard let account = try Self.fetchAccount(db, where: "email = ?", [email.normalized]) else {
                throw PortalLinksError(.notFound, "no account for \(email)")
            }
            try db.execute(sql: sql, arguments: [now, email.normalized])
            guard db.changesCount > 0 else { return false }
            try self.bumpGeneration(db)
            try self.appendAudit([AuditEvent(event, "account \(account.email) client \(account.clientID)")], actor: actor, at: now, db)
            try Self.insertActivity(ActivityEntry(at: now, event: event, account: account.email.normalized,
                                                  clientID: account.clientID.description, caller: actor, result: "ok"), db)
            return true
        }
    }

    static func insertActivity(_ entry: ActivityEntry, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO activity (at, event, account, client_id, caller, result) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [entry.at, entry.event, entry.account, entry.clientID, entry.caller, entry.result])
    }

    static func fetchAccount(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> AccountRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE \(condition)", arguments: arguments).map(account)
    }

    static func account(_ row: Row) throws -> AccountRecord {
        AccountRecord(id: row["account_id"], email: EmailAddress(normalized: row["email"]), clientID: try clientID(row["client_id"]),
                      displayName: row["display_name"], passwordHash: row["password_hash"], epoch: row["epoch"],
                      linkID: LinkID(rawValue: UInt64(bitPattern: row["link_id"])), createdAt: row["created_at"],
                      disabledAt: row["disabled_at"], failedAttempts: row["failed_attempts"], lockedUntil: row["locked_until"],
                      lastSignInAt: row["last_sign_in_at"], signInCount: row["sign_in_count"])
    }
}
