import NIOCore
import PostgresNIO

extension PostgresConnection {
    /// Every row `query` returns. Statements pass their values as bound parameters only: interpolating a value
    /// into a `PostgresQuery` binds it.
    ///
    /// The statement is written from the connection's event loop, after checking there that the connection is
    /// open: PostgresNIO drops a statement written to a closed connection without failing it, and its caller
    /// would wait for ever. (The pool can hand out a connection the server has just cut before it hears of it.)
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await eventLoop.flatSubmit { [self] () -> EventLoopFuture<PostgresQueryResult> in
            guard !isClosed else { return eventLoop.makeFailedFuture(ConnectionClosed()) }
            return self.query(query, logger: PostgresLinkStore.quiet)
        }.get().rows
    }

    /// Runs a statement; returns how many rows it returned, which with `RETURNING` is how many it changed.
    @discardableResult
    func run(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }

    /// The first column of the first row; nil when there is no row.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        try await rows(query).first.map { try $0.decode(T.self) }
    }
}

/// A statement for a connection that had already closed.
struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection was closed" }
}

/// One row, read by column name.
struct StoredRow {
    private let columns: PostgresRandomAccessRow

    init(_ row: PostgresRow) { columns = row.makeRandomAccess() }

    subscript<T: PostgresDecodable>(_ name: String) -> T {
        get throws { try columns[name].decode(T.self) }
    }

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try columns[name].decode(ByteBuffer.self).readableBytesView)
    }

    func optionalBytes(_ name: String) throws -> [UInt8]? {
        try columns[name].decode(ByteBuffer?.self).map { [UInt8]($0.readableBytesView) }
    }
}
