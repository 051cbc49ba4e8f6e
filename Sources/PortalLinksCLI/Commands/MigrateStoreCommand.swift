import ArgumentParser
import Foundation
import Logging
import PortalLinksCore
import PortalLinksPostgres
import PortalLinksSQLite
import PortalLinksStore

/// Copies an installation from its SQLite file into a new PostgreSQL database, then reads the copy back and
/// compares it with the source, table by table.
struct MigrateStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy everything from a SQLite store into a new, empty PostgreSQL store, and check the copy.",
        discussion: """
            Keys stay sealed under the same master key (give the new store's servers the same one), the audit \
            chain keeps its hashes, and account IDs and activity continue where the source left off. The copy is \
            one transaction: on any error the destination is left as it was. Stop staff commands against the \
            source while it runs; servers may keep running on it (the source is read in one snapshot).
            """)

    @Option(help: ArgumentHelp("The store to copy: sqlite:PATH.", valueName: "STORE"))
    var from: String

    @Option(help: ArgumentHelp("The new store: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, empty.", valueName: "STORE"))
    var to: String

    func validate() throws {
        guard case .sqlite = try StoreLocation(parsing: from) else {
            throw ValidationError("--from takes sqlite:PATH (copying out of PostgreSQL: use pg_dump)")
        }
        guard case .postgres = try StoreLocation(parsing: to) else {
            throw ValidationError("--to takes postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
    }

    func run() async throws {
        guard case .sqlite(let path) = try StoreLocation(parsing: from), case .postgres(let url) = try StoreLocation(parsing: to) else {
            throw ValidationError("--from takes sqlite:PATH and --to postgres://...")
        }
        // Opening would create a missing file: an empty copy is not what anyone asked for.
        guard FileManager.default.fileExists(atPath: path) else {
            throw PortalLinksError(.invalidInput, "no store at \(path)")
        }
        let source = try SQLiteLinkStore(path: path)
        let destination = try await PostgresLinkStore.open(url: url, logger: Logger(label: "portal-links.migrate-store"))
        do {
            try await copy(from: source, to: destination)
        } catch {
            await destination.close()
            throw error
        }
        await destination.close()
    }

    private func copy(from source: SQLiteLinkStore, to destination: PostgresLinkStore) async throws {
        let original = try await source.dump()
        let audit = try await source.auditEntries()
        if let broken = AuditEntry.firstBrokenEntry(in: audit) {
            throw PortalLinksError(.corrupt, "the source's audit chain breaks at entry \(broken.sequence) (see audit verify); nothing copied")
        }
        try await destination.load(original) { copy in
            for (table, _) in original.counts where copy.tables[table] != original.tables[table] {
                throw PortalLinksError(.corrupt, "the copy's \(table) table differs from the source's; nothing copied")
            }
            guard copy.highestAccountID >= original.highestAccountID else {
                throw PortalLinksError(.corrupt, "the copy would give account IDs the source already gave; nothing copied")
            }
        }
        let counted = original.counts.filter { $0.table != "ring_meta" }.map { "\($0.rows) \($0.table.replacingOccurrences(of: "_", with: " "))" }
        print("copied: " + counted.joined(separator: ", "))
        print("checked: every table equal to the source before committing; audit chain verified (\(audit.count) entries)")
    }
}
