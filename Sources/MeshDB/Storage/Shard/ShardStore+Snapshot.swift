import CSQLite
import Foundation

extension ShardStore {
    /// Writes a consistent copy of the shard to a new file at `destination` through SQLite's online
    /// backup API, while the store stays usable. The copy is a self-contained database file (journal
    /// mode DELETE) that state transfer can ship as bytes and `restore(from:)` can load.
    public func snapshot(to destination: String) throws(ShardStoreError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw .snapshotFailed("destination already exists: \(destination)")
        }
        let target: SQLiteConnection
        do {
            target = try SQLiteConnection(path: destination)
            try target.execute("PRAGMA synchronous=FULL")
        } catch {
            throw .sqlite(error)
        }
        defer { target.close() }
        try copyPages(from: connection.handle!, to: target.handle!, describing: "snapshot to \(destination)")
        do {
            // The backup leaves the copy in the source's journal mode; a snapshot is one file.
            try target.execute("PRAGMA journal_mode=DELETE")
        } catch {
            throw .sqlite(error)
        }
    }

    /// Replaces the whole contents of this store with the snapshot at `source` (state transfer).
    /// Atomic: the backup runs as one write transaction on this database, so a crash during it
    /// leaves the old contents. The snapshot is checked first; a damaged one is refused.
    public func restore(from source: String) throws(ShardStoreError) {
        guard FileManager.default.fileExists(atPath: source) else {
            throw .snapshotFailed("snapshot file not found: \(source)")
        }
        let origin: SQLiteConnection
        do {
            origin = try SQLiteConnection(path: source)
            let check = try origin.run("PRAGMA integrity_check")
            guard check.rows == [[.text("ok")]] else {
                throw ShardStoreError.snapshotFailed("snapshot \(source) fails integrity_check: \(check.rows.prefix(3))")
            }
        } catch let error as ShardStoreError {
            throw error
        } catch let error as SQLiteError {
            throw .sqlite(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
        defer { origin.close() }
        connection.clearStatementCache()
        try copyPages(from: origin.handle!, to: connection.handle!, describing: "restore from \(source)")
        do {
            try connection.execute("PRAGMA journal_mode=WAL")
        } catch {
            throw .sqlite(error)
        }
    }

    private func copyPages(from source: OpaquePointer, to destination: OpaquePointer, describing what: String) throws(ShardStoreError) {
        guard let backup = sqlite3_backup_init(destination, "main", source, "main") else {
            throw .snapshotFailed("\(what): \(String(cString: sqlite3_errmsg(destination)))")
        }
        // -1 copies every page in one step: a consistent image of one committed state.
        let stepCode = sqlite3_backup_step(backup, -1)
        let finishCode = sqlite3_backup_finish(backup)
        guard stepCode == SQLITE_DONE, finishCode == SQLITE_OK else {
            throw .sqlite(SQLiteError(
                extendedResultCode: finishCode != SQLITE_OK ? finishCode : stepCode,
                message: "\(what): \(String(cString: sqlite3_errmsg(destination)))"))
        }
    }
}
