import Foundation
import GRDB
import PortalLinksCore

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
        return migrator
    }
}
