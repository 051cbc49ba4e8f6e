import Logging
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore

/// Where an installation's data lives, as `--store` or `$PORTAL_LINKS_STORE` names it: a PostgreSQL database
/// (`postgres://` or `postgresql://`) or a SQLite file (`sqlite:PATH`). Without either, the SQLite file in the
/// home, as always.
enum StoreLocation: Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    static let usage = "--store takes postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or sqlite:PATH"

    /// Checks the form only; a URL's password is never quoted back.
    init(parsing text: String) throws {
        if PostgresStoreURL.isPostgresURL(text) {
            _ = try PostgresStoreURL(parsing: text)
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw PortalLinksError(.invalidInput, "sqlite: needs the path of the store file (\(Self.usage))") }
            self = .sqlite(path: path)
        } else {
            throw PortalLinksError(.invalidInput, Self.usage)
        }
    }

    /// A PostgreSQL URL with its password written in it.
    var hasPassword: Bool {
        guard case .postgres(let url) = self else { return false }
        return (try? PostgresStoreURL(parsing: url))?.password != nil
    }

    func open(environment: [String: String], logger: Logger) async throws -> any LinkStore {
        switch self {
        case .sqlite(let path): try SQLiteLinkStore(path: path)
        case .postgres(let url): try await PostgresLinkStore.open(url: url, environment: environment, logger: logger)
        }
    }
}
