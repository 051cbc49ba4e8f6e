import Foundation
import Logging
import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    /// One schema change, applied once, in order, recorded in `schema_migrations`.
    struct Migration {
        let version: Int32
        let statements: [PostgresQuery]
        /// Work that needs code, after the statements, in the same transaction.
        var rewrite: (@Sendable (PostgresConnection) async throws -> Void)? = nil
    }

    /// The schema, one migration per release that changes it. It mirrors SQLite's: BIGINT where SQLite keeps a
    /// 64-bit integer (unsigned IDs as their bit pattern), BYTEA for blobs, TEXT for text.
    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE ring_meta (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                generation BIGINT NOT NULL,
                master_key_check BYTEA
            )
            """,
            "INSERT INTO ring_meta (id, generation) VALUES (1, 0)",
            """
            CREATE TABLE keys (
                key_id BIGINT PRIMARY KEY,
                state TEXT NOT NULL,
                state_before_disable TEXT,
                created_at BIGINT NOT NULL,
                promoted_at BIGINT,
                retired_at BIGINT,
                verifies_until BIGINT,
                sealed_secret BYTEA
            )
            """,
            """
            CREATE TABLE revoked_links (
                link_id BIGINT PRIMARY KEY,
                revoked_at BIGINT NOT NULL,
                covers_until BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE revoked_clients (
                client_id TEXT PRIMARY KEY,
                revoked_before BIGINT NOT NULL,
                revoked_at BIGINT NOT NULL,
                covers_until BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE disabled_clients (
                client_id TEXT PRIMARY KEY,
                disabled_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE links (
                link_id BIGINT PRIMARY KEY,
                client_id TEXT NOT NULL,
                display_name TEXT,
                issued_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                key_id BIGINT NOT NULL,
                sent_to TEXT NOT NULL,
                issued_by TEXT NOT NULL,
                max_accounts BIGINT CHECK (max_accounts IS NULL OR max_accounts > 0)
            )
            """,
            "CREATE INDEX links_by_client ON links (client_id, issued_at)",
            "CREATE INDEX links_by_expiry ON links (expires_at)",
            "CREATE INDEX links_by_key ON links (key_id, expires_at)",
            """
            CREATE TABLE audit (
                sequence BIGINT PRIMARY KEY,
                at BIGINT NOT NULL,
                actor TEXT NOT NULL,
                operation TEXT NOT NULL,
                subject TEXT NOT NULL,
                previous_hash BYTEA NOT NULL,
                hash BYTEA NOT NULL
            )
            """,
            """
            CREATE TABLE callers (
                name TEXT PRIMARY KEY,
                key_hash BYTEA NOT NULL UNIQUE,
                scopes TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            // An identity is never given again, so a removed account's sessions stay its own. Emails are stored
            // in the application's spelling; the unique index (version 4: on the bytes) is what a concurrent
            // duplicate registration runs into.
            """
            CREATE TABLE accounts (
                account_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                email TEXT NOT NULL CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 254),
                client_id TEXT NOT NULL,
                display_name TEXT,
                password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
                epoch BIGINT NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                epoch_changed_at BIGINT,
                link_id BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                disabled_at BIGINT,
                failed_attempts BIGINT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
                locked_until BIGINT,
                last_sign_in_at BIGINT,
                sign_in_count BIGINT NOT NULL DEFAULT 0 CHECK (sign_in_count >= 0)
            )
            """,
            "CREATE UNIQUE INDEX accounts_by_folded_email ON accounts (lower(email))",
            "CREATE INDEX accounts_by_client ON accounts (client_id)",
            "CREATE INDEX accounts_by_link ON accounts (link_id)",
            """
            CREATE TABLE signed_out_sessions (
                session_id BIGINT PRIMARY KEY,
                account_id BIGINT NOT NULL,
                kept_until BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE removed_accounts (
                account_id BIGINT PRIMARY KEY,
                kept_until BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE activity (
                sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at BIGINT NOT NULL,
                event TEXT NOT NULL,
                account TEXT,
                client_id TEXT,
                caller TEXT NOT NULL,
                result TEXT NOT NULL
            )
            """,
            "CREATE INDEX activity_by_account ON activity (account, sequence)",
            "CREATE INDEX activity_by_client ON activity (client_id, sequence)",
        ]),
        // Stored identifiers in their one spelling (`OneSpelling`). Emails are unique as bytes, as in SQLite:
        // lower() folds more than ASCII (KELVIN SIGN to "k" under most locales) and would merge mailboxes.
        Migration(version: 2, statements: ["DROP INDEX accounts_by_folded_email"], rewrite: { connection in
            try await respell(connection)
            try await connection.run("CREATE UNIQUE INDEX accounts_by_email ON accounts (email)")
        }),
        // Email: the link each link replaces (`links resend`, `links renew`), and how emailing each link to each
        // address went (`portal-links issue --send`).
        Migration(version: 3, statements: [
            "ALTER TABLE links ADD COLUMN replaces BIGINT",
            "CREATE INDEX links_by_replaced ON links (replaces) WHERE replaces IS NOT NULL",
            """
            CREATE TABLE deliveries (
                link_id BIGINT NOT NULL,
                address TEXT NOT NULL,
                state TEXT NOT NULL,
                detail TEXT NOT NULL,
                at BIGINT NOT NULL,
                PRIMARY KEY (link_id, address)
            )
            """]),
    ]

    private static func respell(_ connection: PostgresConnection) async throws {
        for column in OneSpelling.plainColumns {
            let values = try await connection.rows(PostgresQuery(unsafeSQL: """
                SELECT DISTINCT \(column.column) FROM \(column.table) WHERE \(column.column) IS NOT NULL
                """)).map { try $0.decode(String.self) }
            for old in values {
                guard let new = OneSpelling.respelled(old, by: column.respell) else { continue }
                var binds = PostgresBindings()
                binds.append(new)
                binds.append(old)
                try await connection.run(PostgresQuery(
                    unsafeSQL: "UPDATE \(column.table) SET \(column.column) = $1 WHERE \(column.column) = $2", binds: binds))
            }
        }
        for old in try await connection.rows("SELECT client_id FROM revoked_clients").map({ try $0.decode(String.self) }) {
            guard let new = OneSpelling.respelled(old, by: OneSpelling.clientID) else { continue }
            try await connection.run("""
                INSERT INTO revoked_clients (client_id, revoked_before, revoked_at, covers_until)
                SELECT \(new), revoked_before, revoked_at, covers_until FROM revoked_clients
                WHERE client_id = \(old)
                ON CONFLICT (client_id) DO UPDATE SET
                    revoked_before = GREATEST(revoked_clients.revoked_before, excluded.revoked_before),
                    revoked_at = GREATEST(revoked_clients.revoked_at, excluded.revoked_at),
                    covers_until = GREATEST(revoked_clients.covers_until, excluded.covers_until)
                """)
            try await connection.run("DELETE FROM revoked_clients WHERE client_id = \(old)")
        }
        for old in try await connection.rows("SELECT client_id FROM disabled_clients").map({ try $0.decode(String.self) }) {
            guard let new = OneSpelling.respelled(old, by: OneSpelling.clientID) else { continue }
            try await connection.run("""
                INSERT INTO disabled_clients (client_id, disabled_at)
                SELECT \(new), disabled_at FROM disabled_clients WHERE client_id = \(old)
                ON CONFLICT (client_id) DO NOTHING
                """)
            try await connection.run("DELETE FROM disabled_clients WHERE client_id = \(old)")
        }
        for row in try await connection.rows("SELECT account_id, email FROM accounts") {
            let (id, old) = try row.decode((Int64, String).self)
            guard let new = OneSpelling.respelled(old, by: OneSpelling.email) else { continue }
            if let other = try await connection.value("SELECT account_id FROM accounts WHERE email = \(new)", as: Int64.self) {
                throw OneSpelling.duplicateEmail(other, id)
            }
            try await connection.run("UPDATE accounts SET email = \(new) WHERE account_id = \(id)")
        }
    }

    /// Applies the migrations this database lacks, each in its own transaction, on a connection of its own.
    /// The session advisory lock makes servers that start together take turns: the first applies, the others
    /// then find nothing left to do.
    static func migrate(_ location: PostgresStoreURL, logger: Logger) async throws {
        let connection = try await connect(location)
        do {
            try await withDeadline(bulkCallDeadline, closing: connection, location: location) {
                try await migrate(connection, location, logger: logger)
            }
        } catch {
            // Closing the session also releases the lock.
            try? await connection.close()
            throw translated(error, location: location)
        }
        try? await connection.close()
    }

    private static func migrate(_ connection: PostgresConnection, _ location: PostgresStoreURL, logger: Logger) async throws {
        try await connection.run("SELECT pg_advisory_lock(\(migrationLock))")
        try await connection.run("""
            CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)
            """)
        let applied = Set(try await connection.rows("SELECT version FROM schema_migrations").map { try $0.decode(Int32.self) })
        // A newer release's tables and rows are not this release's to write: refuse, naming both versions.
        if let newest = applied.max(), let known = migrations.last?.version, newest > known {
            throw PortalLinksError(.conflict, """
                the store \(location) has schema version \(newest), newer than this release's \(known): use the \
                release that migrated it, or a newer one
                """)
        }
        for migration in migrations where !applied.contains(migration.version) {
            try await connection.run("BEGIN")
            do {
                for statement in migration.statements { try await connection.run(statement) }
                try await migration.rewrite?(connection)
                try await connection.run("""
                    INSERT INTO schema_migrations (version, applied_at)
                    VALUES (\(migration.version), \(Int64(Date().timeIntervalSince1970)))
                    """)
                try await connection.run("COMMIT")
            } catch {
                _ = try? await connection.run("ROLLBACK")
                throw error
            }
            logger.info("store schema migrated", metadata: ["store": "\(location)", "version": "\(migration.version)"])
        }
        try await connection.run("SELECT pg_advisory_unlock(\(migrationLock))")
    }
}

