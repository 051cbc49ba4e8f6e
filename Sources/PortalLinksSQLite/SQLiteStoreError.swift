import GRDB
import PortalLinksCore

/// A failure reported by SQLite that is not one of the store's own refusals (a full disk, a locked or
/// corrupt file): one line with SQLite's message, never the statement or its values (GRDB keeps those in its
/// error). What the store throws instead of GRDB's errors, as `PostgresStoreError` is for PostgreSQL.
public struct SQLiteStoreError: Error, Sendable, CustomStringConvertible {
    /// SQLite's primary result code (`SQLITE_FULL` is 13, `SQLITE_BUSY` 5, ...).
    public let resultCode: Int32
    public let message: String

    public var description: String { "storage error: \(message)" }

    /// The store's own errors pass through; GRDB's become `SQLiteStoreError`.
    static func translated(_ error: any Error) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        return SQLiteStoreError(resultCode: error.resultCode.primaryResultCode.rawValue,
                                message: error.message ?? "SQLite code \(error.resultCode.rawValue)")
    }
}
