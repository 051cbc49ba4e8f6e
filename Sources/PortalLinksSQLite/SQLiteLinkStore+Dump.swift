import Foundation
import GRDB
import PortalLinksCore
import PortalLinksStore

extension SQLiteLinkStore {
    /// Every table in one read transaction, so the copy is of one moment even while servers run.
    public func dump() async throws -> StoreDump {
        try await read { db in
            try StoreSchema.checkColumns { table in try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] } }
            var tables: [String: [[StoreValue]]] = [:]
            for table in StoreSchema.tables {
                tables[table.name] = try Row.fetchAll(db, sql: StoreSchema.select(table)).map { row in
                    try (0..<row.count).map { try Self.storeValue(row[$0] as DatabaseValue, table: table.name) }
                }
            }
            // AUTOINCREMENT keeps the highest ID ever given in sqlite_sequence, removed accounts' included.
            let highest = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'accounts'") ?? 0
            return StoreDump(tables: tables, highestAccountID: highest)
        }
    }

    private static func storeValue(_ value: DatabaseValue, table: String) throws -> StoreValue {
        switch value.storage {
        case .null: return .null
        case .int64(let integer): return .integer(integer)
        case .string(let text): return .text(text)
        case .blob(let data): return .bytes([UInt8](data))
        case .double: throw PortalLinksError(.corrupt, "the store's \(table) table holds a real number where none belongs")
        }
    }
}
