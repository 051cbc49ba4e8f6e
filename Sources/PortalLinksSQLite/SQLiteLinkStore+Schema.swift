import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    /// The schema, one migration per release that changes it.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE ring_meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    generation INTEGER NOT NULL,
                    master_key_check BLOB
                );
                INSERT INTO ring_meta (id, generation) VALUES (1, 0);
                CREATE TABLE keys (
                    key_id INTEGER PRIMARY KEY,
                    state TEXT NOT NULL,
                    state_before_disable TEXT,
                    created_at INTEGER NOT NULL,
                    promoted_at INTEGER,
                    retired_at INTEGER,
                    verifies_until INTEGER,
                    sealed_secret BLOB
                );
                CREATE TABLE revoked_links (
                    link_id INTEGER PRIMARY KEY,
                    revoked_at INTEGER NOT NULL,
                    covers_until INTEGER NOT NULL
                );
                CREATE TABLE revoked_clients (
                    client_id TEXT PRIMARY KEY,
                    revoked_before INTEGER NOT NULL,
                    revoked_at INTEGER NOT NULL,
                    covers_until INTEGER NOT NULL
                );
                CREATE TABLE disabled_clients (
                    client_id TEXT PRIMARY KEY,
                    disabled_at INTEGER NOT NULL
                );
                CREATE TABLE links (
                    link_id INTEGER PRIMARY KEY,
                    client_id TEXT NOT NULL,
                    display_name TEXT,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    key_id INTEGER NOT NULL,
                    sent_to TEXT NOT NULL,
                    issued_by TEXT NOT NULL
                );
                CREATE INDEX links_by_client ON links (client_id, issued_at);
                CREATE INDEX links_by_expiry ON links (expires_at);
                CREATE INDEX links_by_key ON links (key_id, expires_at);
                CREATE TABLE audit (
                    sequence INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    previous_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2 callers") { db in
            try db.execute(sql: """
                CREATE TABLE callers (
                    name TEXT PRIMARY KEY,
                    key_hash BLOB NOT NULL UNIQUE,
                    scopes TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                """)
        }
        migrator.registerMigration("v3 accounts") { db in
            try db.execute(sql: """
                CREATE TABLE accounts (
                    -- AUTOINCREMENT: an ID is never given again, so a removed account's sessions stay its own.
                    account_id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL UNIQUE CHECK (email = lower(trim(email)) AND length(email) BETWEEN 3 AND 254),
                    client_id TEXT NOT NULL,
                    display_name TEXT,
                    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
                    epoch INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                    epoch_changed_at INTEGER,
                    link_id INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    disabled_at INTEGER,
                    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
                    locked_until INTEGER,
                    last_sign_in_at INTEGER,
                    sign_in_count INTEGER NOT NULL DEFAULT 0 CHECK (sign_in_count >= 0)
                );
                CREATE INDEX accounts_by_client ON accounts (client_id);
                CREATE INDEX accounts_by_link ON accounts (link_id);
                CREATE TABLE signed_out_sessions (
                    session_id INTEGER PRIMARY KEY,
                    account_id INTEGER NOT NULL,
                    kept_until INTEGER NOT NULL
                );
                CREATE TABLE removed_accounts (
                    account_id INTEGER PRIMARY KEY,
                    kept_until INTEGER NOT NULL
                );
                ALTER TABLE links ADD COLUMN max_accounts INTEGER CHECK (max_accounts IS NULL OR max_accounts > 0);
                CREATE TABLE activity (
                    sequence INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    event TEXT NOT NULL,
                    account TEXT,
                    client_id TEXT,
                    caller TEXT NOT NULL,
                    result TEXT NOT NULL
                );
                CREATE INDEX activity_by_account ON activity (account, sequence);
                CREATE INDEX activity_by_client ON activity (client_id, sequence);
                """)
        }
        migrator.registerMigration("v4 one spelling") { db in try respell(db) }
        migrator.registerMigration("v5 email") { db in
            try db.execute(sql: """
                ALTER TABLE links ADD COLUMN replaces INTEGER;
                CREATE INDEX links_by_replaced ON links (replaces) WHERE replaces IS NOT NULL;
                CREATE TABLE deliveries (
                    link_id INTEGER NOT NULL,
                    address TEXT NOT NULL,
                    state TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (link_id, address)
                );
                """)
        }
        return migrator
    }

    /// Schema version 4 (`OneSpelling`): stored identifiers in their one spelling. A client's revocations and
    /// disabling under two spellings merge into one row that refuses what either refused.
    private static func respell(_ db: Database) throws {
        for column in OneSpelling.plainColumns {
            let values = try String.fetchAll(db, sql: "SELECT DISTINCT \(column.column) FROM \(column.table) WHERE \(column.column) IS NOT NULL")
            for old in values {
                guard let new = OneSpelling.respelled(old, by: column.respell) else { continue }
                try db.execute(sql: "UPDATE \(column.table) SET \(column.column) = ? WHERE \(column.column) = ?", arguments: [new, old])
            }
        }
        for old in try String.fetchAll(db, sql: "SELECT client_id FROM revoked_clients") {
            guard let new = OneSpelling.respelled(old, by: OneSpelling.clientID) else { continue }
            try db.execute(sql: """
                INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until)
                SELECT ?, revoked_before, revoked_at, covers_until FROM revoked_clients WHERE client_id = ?
                ON CONFLICT (client_id) DO UPDATE SET revoked_before = max(revoked_before, excluded.revoked_before),
                    revoked_at = max(revoked_at, excluded.revoked_at), covers_until = max(covers_until, excluded.covers_until)
                """, arguments: [new, old])
            try db.execute(sql: "DELETE FROM revoked_clients WHERE client_id = ?", arguments: [old])
        }
        for old in try String.fetchAll(db, sql: "SELECT client_id FROM disabled_clients") {
            guard let new = OneSpelling.respelled(old, by: OneSpelling.clientID) else { continue }
            try db.execute(sql: """
                INSERT OR IGNORE INTO disabled_clients (client_id, disabled_at)
                SELECT ?, disabled_at FROM disabled_clients WHERE client_id = ?
                """, arguments: [new, old])
            try db.execute(sql: "DELETE FROM disabled_clients WHERE client_id = ?", arguments: [old])
        }
        for row in try Row.fetchAll(db, sql: "SELECT account_id, email FROM accounts") {
            guard let new = OneSpelling.respelled(row["email"], by: OneSpelling.email) else { continue }
            if let other = try Int64.fetchOne(db, sql: "SELECT account_id FROM accounts WHERE email = ?", arguments: [new]) {
                throw OneSpelling.duplicateEmail(other, row["account_id"])
            }
            try db.execute(sql: "UPDATE accounts SET email = ? WHERE account_id = ?", arguments: [new, row["account_id"]])
        }
    }
}
