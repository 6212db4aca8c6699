import CSQLite
import Foundation

extension ShardStore {
    /// Writes a consistent copy of the shard to a new file at `destination` through SQLite's online
    /// backup API, while the store stays usable. The copy is a self-contained database file
    /// (journal mode DELETE), durable on return, that state transfer ships as bytes and
    /// `restore(from:expectedDigest:)` loads. On failure no partial file is left behind.
    public func snapshot(to destination: String) throws(ShardStoreError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw .snapshotFailed("destination already exists: \(destination)")
        }
        do {
            let target = try SQLiteConnection(path: destination)
            defer { target.close() }
            try target.execute("PRAGMA synchronous=FULL")
            try copyPages(from: try committedConnection().openHandle(), to: try target.openHandle(), describing: "snapshot to \(destination)")
            // The backup leaves the copy in the source's journal mode; a snapshot is one file.
            try target.execute("PRAGMA journal_mode=DELETE")
            target.close()
            try DurableFile.syncFile(destination)
            try DurableFile.syncDirectory(containing: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            try? FileManager.default.removeItem(atPath: destination + "-journal")
            switch error {
            case let error as ShardStoreError: throw error
            case let error as SQLiteError: throw .sqlite(error)
            case let error as DurableFile.Failure: throw .snapshotFailed(error.description)
            default: throw .snapshotFailed("\(error)")
            }
        }
    }

    /// Replaces the whole contents of this store with the snapshot at `source` (state transfer).
    ///
    /// The snapshot comes from another node, so it is checked before anything here changes: opened
    /// read-only with SQLite's defensive settings, `integrity_check`, and, when `expectedDigest` is
    /// given (the digest a PBFT checkpoint certificate agreed on), its logical digest must match.
    /// Then the file is swapped in: copy to a temporary file and fsync it, checkpoint and close
    /// this store, remove its WAL, rename the copy over the database, fsync the directory, reopen.
    /// A crash at any step leaves either the old contents or the new ones.
    public func restore(from source: String, expectedDigest: [UInt8]? = nil) throws(ShardStoreError) {
        guard FileManager.default.fileExists(atPath: source) else {
            throw .snapshotFailed("snapshot file not found: \(source)")
        }
        do {
            let origin = try SQLiteConnection(path: source, readOnly: true)
            defer { origin.close() }
            let check = try origin.run("PRAGMA integrity_check")
            guard check.rows == [[.text("ok")]] else {
                throw ShardStoreError.snapshotFailed("snapshot \(source) fails integrity_check: \(check.rows.prefix(3))")
            }
            if let expectedDigest {
                let digest = try origin.logicalDigest()
                guard digest == expectedDigest else {
                    throw ShardStoreError.snapshotFailed(
                        "snapshot \(source) has digest \(hex(digest).prefix(16)), not the agreed \(hex(expectedDigest).prefix(16))")
                }
            }
        } catch let error as ShardStoreError {
            throw error
        } catch let error as SQLiteError {
            throw .snapshotFailed("snapshot \(source) cannot be read: \(error)")
        } catch {
            preconditionFailure("unexpected error \(error)")
        }

        let staging = path + ".restore"
        do {
            try? FileManager.default.removeItem(atPath: staging)
            try FileManager.default.copyItem(atPath: source, toPath: staging)
            try DurableFile.syncFile(staging)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw .snapshotFailed("cannot stage snapshot \(source): \(error)")
        }
        do {
            // Empty the WAL into the old file and close: no old WAL frame may outlive the swap,
            // or SQLite would replay it onto the new file at the next open.
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            committedReader?.close()
            committedReader = nil
            connection.close()
            for suffix in ["-wal", "-shm"] where DurableFile.exists(path + suffix) {
                try DurableFile.remove(path + suffix)
            }
            try DurableFile.rename(staging, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            connection = try Self.openConnection(path: path, durability: durability)
            switch error {
            case let error as SQLiteError: throw .sqlite(error)
            default: throw .snapshotFailed("cannot swap in snapshot \(source): \(error)")
            }
        }
        connection = try Self.openConnection(path: path, durability: durability)
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
