import CSQLite
import Foundation

extension ShardStore {
    /// Writes `snapshotBytes()` to a new file at `destination`, while the store stays usable: a
    /// self-contained database file (journal mode DELETE), durable on return (file and directory
    /// fsynced), that `restore(from:expectedDigest:)` loads. On failure no file is left behind;
    /// a file already at `destination` is refused and left as it was.
    public func snapshot(to destination: String) throws(ShardStoreError) {
        let image = try snapshotBytes()
        do {
            // Creates the file exclusively, and removes it again when it fails after that.
            try DurableFile.writeSynced([image], to: destination)
        } catch {
            throw .snapshotFailed("snapshot to \(destination): \(error)")
        }
        do {
            try DurableFile.syncDirectory(containing: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw .snapshotFailed("snapshot to \(destination): \(error)")
        }
    }

    /// The bytes of a consistent copy of the committed rows, made without touching the disk:
    /// SQLite's online backup into an in-memory database, then `sqlite3_serialize`. Checkpoints
    /// take one of every shard every K batches; through staged files that cost a create, five
    /// fsyncs and an unlink per shard on every replica.
    ///
    /// Deterministic for a given state, whatever the shard's history. An in-memory commit leaves
    /// the header's history fields as the source file had them, so they are fixed here: the
    /// change counter (offset 24) and version-valid-for (92) are set to 1 — they differ between a
    /// replica that executed every batch and one restored from a snapshot — and the number of
    /// the SQLite that last wrote the file in rollback mode (96) to 0, which SQLite never checks
    /// on open; the format bytes say rollback journal (18 and 19 = 1), as `journal_mode=DELETE`
    /// leaves a file. The rest follows the rows and the schema: the backup copies every page as
    /// it is (free pages too, which a restored replica inherits) and sets the schema cookie to 1.
    public func snapshotBytes() throws(ShardStoreError) -> [UInt8] {
        var bytes: [UInt8]
        do {
            bytes = try serializedCopy()
        } catch {
            throw .sqlite(error)
        }
        guard bytes.count >= 100 else {
            throw .snapshotFailed("snapshot: a \(bytes.count)-byte image has no database header")
        }
        bytes[18] = 1
        bytes[19] = 1
        for offset in [24, 92] {
            bytes[offset..<offset + 4] = [0, 0, 0, 1]
        }
        bytes[96..<100] = [0, 0, 0, 0]
        return bytes
    }

    /// The committed state copied page by page into an in-memory database, serialized.
    private func serializedCopy() throws(SQLiteError) -> [UInt8] {
        let source = try committedConnection()
        let target = try SQLiteConnection(path: ":memory:")
        defer { target.close() }
        // An in-memory destination cannot change its page size once written: match the source.
        guard case .integer(let pageSize)? = try source.run("PRAGMA page_size").rows.first?.first else {
            throw SQLiteError(extendedResultCode: SQLITE_ERROR, message: "snapshot: PRAGMA page_size returned no number")
        }
        try target.execute("PRAGMA page_size=\(pageSize)")
        try copyPages(from: try source.openHandle(), to: try target.openHandle(), describing: "snapshot to memory")
        var size: sqlite3_int64 = 0
        guard let image = sqlite3_serialize(try target.openHandle(), "main", &size, 0) else {
            throw SQLiteError(extendedResultCode: SQLITE_NOMEM, message: "snapshot: sqlite3_serialize returned no image")
        }
        defer { sqlite3_free(image) }
        return Array(UnsafeBufferPointer(start: image, count: Int(size)))
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

    private func copyPages(from source: OpaquePointer, to destination: OpaquePointer, describing what: String) throws(SQLiteError) {
        guard let backup = sqlite3_backup_init(destination, "main", source, "main") else {
            throw SQLiteError(extendedResultCode: sqlite3_extended_errcode(destination),
                              message: "\(what): \(String(cString: sqlite3_errmsg(destination)))")
        }
        // -1 copies every page in one step: a consistent image of one committed state.
        let stepCode = sqlite3_backup_step(backup, -1)
        let finishCode = sqlite3_backup_finish(backup)
        guard stepCode == SQLITE_DONE, finishCode == SQLITE_OK else {
            throw SQLiteError(
                extendedResultCode: finishCode != SQLITE_OK ? finishCode : stepCode,
                message: "\(what): \(String(cString: sqlite3_errmsg(destination)))")
        }
    }
}
