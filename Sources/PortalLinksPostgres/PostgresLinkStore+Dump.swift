import Foundation
import PortalLinksCore
import PortalLinksStore
import PostgresNIO

extension PostgresLinkStore {
    /// Every table in one snapshot.
    public func dump() async throws -> StoreDump {
        try await read(deadline: Self.bulkCallDeadline) { connection in try await Self.dump(connection) }
    }

    static func dump(_ connection: PostgresConnection) async throws -> StoreDump {
        var columns: [String: [String]] = [:]
        for row in try await connection.rows("""
            SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()
            """) {
            let (table, column) = try row.decode((String, String).self)
            columns[table, default: []].append(column)
        }
        try StoreSchema.checkColumns { columns[$0] ?? [] }
        var tables: [String: [[StoreValue]]] = [:]
        for table in StoreSchema.tables {
            // Text keys in byte order, as SQLite sorts them, whatever the database's locale.
            let collation = table.columns[0].kind == .text ? " COLLATE \"C\"" : ""
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: StoreSchema.select(table) + collation))
            tables[table.name] = try rows.map { row in
                try zip(row, table.columns).map { cell, column in try Self.storeValue(cell, kind: column.kind) }
            }
        }
        // The identity's last value, or nothing when no account was ever created.
        let highest = try await connection.value(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('accounts', 'account_id'))", as: Int64?.self) ?? nil
        return StoreDump(tables: tables, highestAccountID: highest ?? 0)
    }

    /// Loads a dump into this store, which must be empty (as `open` leaves a new database), in one transaction,
    /// and before committing reads the copy back and hands it to `check`: if that throws, or anything else
    /// fails, nothing is left behind. IDs, audit hashes and sealed keys are copied as they are, and the
    /// identities continue after the highest ID the source ever gave.
    public func load(_ dump: StoreDump, check: @Sendable (StoreDump) throws -> Void) async throws {
        try await write(deadline: Self.bulkCallDeadline) { connection in
            guard try await Self.isEmpty(connection) else {
                throw PortalLinksError(.conflict, "the destination store already holds data; copy into a new, empty database")
            }
            for table in StoreSchema.tables {
                let rows = dump.tables[table.name] ?? []
                if table.name == "ring_meta" {
                    // The schema's own row: update it rather than add a second.
                    for row in rows { try await Self.updateRingMeta(row, connection) }
                    continue
                }
                // As many rows per statement as PostgreSQL's limit of 65,535 parameters allows, up to 500.
                let perStatement = max(1, min(500, 60_000 / table.columns.count))
                var start = 0
                while start < rows.count {
                    let batch = rows[start..<min(start + perStatement, rows.count)]
                    try await connection.run(try Self.insert(batch, into: table))
                    start += batch.count
                }
            }
            let highestAccount = max(dump.highestAccountID, Self.maximum("account_id", in: dump, tables: ["accounts", "removed_accounts"]))
            if highestAccount > 0 {
                try await connection.run("SELECT setval(pg_get_serial_sequence('accounts', 'account_id'), \(highestAccount))")
            }
            let highestActivity = Self.maximum("sequence", in: dump, tables: ["activity"])
            if highestActivity > 0 {
                try await connection.run("SELECT setval(pg_get_serial_sequence('activity', 'sequence'), \(highestActivity))")
            }
            try check(try await Self.dump(connection))
            // The generation is the source's: servers already on this database see it change and reload.
            try await connection.run("SELECT pg_notify(\(Self.changesChannel), '')")
        }
    }

    private static func isEmpty(_ connection: PostgresConnection) async throws -> Bool {
        for table in StoreSchema.tables where table.name != "ring_meta" {
            if try await connection.run(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table.name) LIMIT 1")) > 0 { return false }
        }
        let meta = try await connection.rows("SELECT generation, master_key_check FROM ring_meta WHERE id = 1").first.map(StoredRow.init)
        let generation: Int64 = try meta?["generation"] ?? 0
        let check = try meta?.optionalBytes("master_key_check")
        return generation == 0 && check == nil
    }

    private static func updateRingMeta(_ row: [StoreValue], _ connection: PostgresConnection) async throws {
        guard row.count == 3, case .integer(let generation) = row[1] else {
            throw PortalLinksError(.corrupt, "the source's ring_meta row is not as expected")
        }
        var binds = PostgresBindings()
        binds.append(generation)
        try append(row[2], to: &binds)
        try await connection.run(PostgresQuery(
            unsafeSQL: "UPDATE ring_meta SET generation = $1, master_key_check = $2 WHERE id = 1", binds: binds))
    }

    /// One multi-row INSERT with every value bound. Identity columns take the copied IDs as they are.
    private static func insert(_ rows: ArraySlice<[StoreValue]>, into table: StoreSchema.Table) throws -> PostgresQuery {
        let names = table.columns.map(\.name).joined(separator: ", ")
        let overriding = ["accounts", "activity"].contains(table.name) ? " OVERRIDING SYSTEM VALUE" : ""
        var binds = PostgresBindings(capacity: rows.count * table.columns.count)
        var tuples: [String] = []
        var parameter = 0
        for row in rows {
            guard row.count == table.columns.count else {
                throw PortalLinksError(.corrupt, "a row of the source's \(table.name) table has the wrong number of columns")
            }
            var placeholders: [String] = []
            for value in row {
                parameter += 1
                placeholders.append("$\(parameter)")
                try append(value, to: &binds)
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        return PostgresQuery(unsafeSQL: "INSERT INTO \(table.name) (\(names))\(overriding) VALUES " + tuples.joined(separator: ", "),
                             binds: binds)
    }

    private static func append(_ value: StoreValue, to binds: inout PostgresBindings) throws {
        switch value {
        case .null: binds.appendNull()
        case .integer(let integer): binds.append(integer)
        case .text(let text): binds.append(text)
        case .bytes(let bytes): binds.append(ByteBuffer(bytes: bytes))
        }
    }

    private static func maximum(_ column: String, in dump: StoreDump, tables: [String]) -> Int64 {
        var highest: Int64 = 0
        for name in tables {
            guard let table = StoreSchema.tables.first(where: { $0.name == name }),
                  let index = table.columns.firstIndex(where: { $0.name == column }) else { continue }
            for row in dump.tables[name] ?? [] {
                if case .integer(let value) = row[index] { highest = max(highest, value) }
            }
        }
        return highest
    }

    private static func storeValue(_ cell: PostgresCell, kind: StoreSchema.Kind) throws -> StoreValue {
        guard cell.bytes != nil else { return .null }
        switch kind {
        case .integer: return .integer(try cell.decode(Int64.self))
        case .text: return .text(try cell.decode(String.self))
        case .bytes: return .bytes([UInt8](try cell.decode(ByteBuffer.self).readableBytesView))
        }
    }
}
