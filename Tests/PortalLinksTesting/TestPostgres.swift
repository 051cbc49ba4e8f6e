import Foundation
import Logging
import PortalLinksCore
import PortalLinksPostgres
import PostgresNIO

/// The PostgreSQL server the tests may use (`PORTAL_LINKS_TEST_POSTGRES`, set by scripts/with-postgres.sh), and a
/// database of their own on it for each test, so that tests run in parallel without seeing each other's data.
public enum TestPostgres {
    public static let server: PostgresStoreURL? = ProcessInfo.processInfo.environment["PORTAL_LINKS_TEST_POSTGRES"]
        .flatMap { try? PostgresStoreURL(parsing: $0, environment: ProcessInfo.processInfo.environment) }

    public static let logger: Logger = {
        var logger = Logger(label: "portal-links.store-tests")
        logger.logLevel = .warning
        return logger
    }()

    public static func createDatabase() async throws -> PostgresStoreURL {
        guard let server else { throw PortalLinksError(.invalidInput, "PORTAL_LINKS_TEST_POSTGRES is not set") }
        // Hex digits only, so the name can stand in the statement: CREATE DATABASE takes no parameters.
        let name = "portal_links_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await administer(server, PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        return server.with(database: name)
    }

    public static func dropDatabase(_ database: PostgresStoreURL) async throws {
        guard let server else { return }
        try await administer(server, PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database.database) WITH (FORCE)"))
    }

    /// Runs one statement on a connection of its own to `location`'s database.
    public static func administer(_ location: PostgresStoreURL, _ statement: PostgresQuery) async throws {
        _ = try await rows(location, statement)
    }

    /// The rows of one query, on a connection of its own.
    public static func rows(_ location: PostgresStoreURL, _ query: PostgresQuery) async throws -> [PostgresRow] {
        let connection = try await connect(location)
        do {
            let rows = try await connection.query(query, logger: logger).collect()
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The process IDs of the server's backends connected to `database` (the store's pooled connections).
    public static func backends(of database: PostgresStoreURL) async throws -> [Int32] {
        guard let server else { return [] }
        return try await rows(server, "SELECT pid FROM pg_stat_activity WHERE datname = \(database.database) AND pid <> pg_backend_pid()")
            .map { try $0.decode(Int32.self) }
    }

    public static func connect(_ location: PostgresStoreURL) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(host: location.host, port: location.port, username: location.user, password: location.password,
                                 database: location.database, tls: .disable),
            id: 0, logger: logger)
    }
}
