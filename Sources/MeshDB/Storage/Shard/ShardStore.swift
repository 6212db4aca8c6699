import CSQLite

/// One shard replica: a SQLite database in WAL mode on which ordered batches of structured writes
/// are applied, all or nothing. Every member of a shard group holds one per shard it serves; they
/// stay equal because each applies the same batches in the same order, and they prove it with
/// `logicalDigest()`.
///
/// Not Sendable: a store belongs to one thread or actor at a time (SQLite connections opened
/// with SQLITE_OPEN_NOMUTEX must not be shared).
public final class ShardStore {
    /// When a committed batch is on disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=FULL`: the WAL is fsynced at every commit, so a committed batch survives
        /// power loss. The default: PBFT replies only after this.
        case fsync
        /// `synchronous=NORMAL`: commits survive a process crash; the OS decides when the WAL
        /// reaches the disk, so a power loss may lose the latest commits (never corrupts).
        case os
    }

    /// One statement of a batch, with its parameters bound to ?1, ?2, ...
    public struct Statement: Sendable, Hashable {
        public let sql: String
        public let parameters: [SQLiteValue]

        public init(_ sql: String, _ parameters: [SQLiteValue] = []) {
            self.sql = sql
            self.parameters = parameters
        }
    }

    /// What one statement of a batch produced.
    public struct StatementResult: Sendable, Hashable {
        public let rowsChanged: Int
        /// Column names and rows, for statements that return rows (SELECT, RETURNING).
        public let columns: [String]
        public let rows: [[SQLiteValue]]
    }

    public struct Limits: Sendable, Hashable {
        /// Most statements in one batch.
        public var batchStatementsMax = 100_000
        /// Most rows one statement may return (they are buffered in memory).
        public var resultRowsMax = 1_000_000

        public init() {}
    }

    public let path: String
    public let durability: Durability
    public let limits: Limits
    var connection: SQLiteConnection
    /// A second connection that sees only committed rows while `connection` holds an open
    /// transaction block (`ShardStore+Transaction.swift`); opened on first use.
    var committedReader: SQLiteConnection?

    /// Opens (creating if needed) the shard database at `path`.
    public init(path: String, durability: Durability = .fsync, limits: Limits = Limits()) throws(ShardStoreError) {
        self.path = path
        self.durability = durability
        self.limits = limits
        connection = try Self.openConnection(path: path, durability: durability)
    }

    static func openConnection(path: String, durability: Durability) throws(ShardStoreError) -> SQLiteConnection {
        do {
            let connection = try SQLiteConnection(path: path)
            let mode = try connection.run("PRAGMA journal_mode=WAL").rows
            guard mode == [[.text("wal")]] else {
                throw ShardStoreError.sqlite(SQLiteError(
                    extendedResultCode: SQLITE_CANTOPEN, message: "cannot switch \(path) to WAL mode (journal_mode is \(mode))"))
            }
            try connection.execute(durability == .fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
            // A writer waits rather than failing when a snapshot reader holds the database briefly.
            try connection.execute("PRAGMA busy_timeout=5000")
            return connection
        } catch let error as ShardStoreError {
            throw error
        } catch let error as SQLiteError {
            throw .sqlite(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    public func close() {
        committedReader?.close()
        committedReader = nil
        connection.close()
    }

    /// Applies `batch` in one transaction: every statement or none. On failure the transaction
    /// is rolled back and the error names the statement (0-based) that failed.
    @discardableResult
    public func apply(_ batch: [Statement]) throws(ShardStoreError) -> [StatementResult] {
        guard batch.count <= limits.batchStatementsMax else {
            throw .limitExceeded("batch of \(batch.count) statements exceeds batch_statements_max = \(limits.batchStatementsMax)")
        }
        if connection.isInTransaction {
            // The authorizer keeps client statements from opening transactions, so this is only
            // reachable through a bug; recover rather than apply a batch inside someone else's.
            rollBack()
        }
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            throw .sqlite(error)
        }
        let results: [StatementResult]
        do {
            results = try runInOpenTransaction(batch)
        } catch {
            rollBack()
            throw error
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            rollBack()
            throw .sqlite(error)
        }
        return results
    }

    /// Runs `batch` inside the transaction open on the connection, in order; the error names the
    /// statement (0-based) that failed and the caller decides what to roll back.
    func runInOpenTransaction(_ batch: [Statement]) throws(ShardStoreError) -> [StatementResult] {
        var results: [StatementResult] = []
        results.reserveCapacity(batch.count)
        for (index, statement) in batch.enumerated() {
            do throws(SQLiteError) {
                let outcome = try connection.run(statement.sql, statement.parameters, access: .write, rowsMax: limits.resultRowsMax)
                guard connection.isInTransaction else {
                    throw SQLiteError(extendedResultCode: SQLITE_MISUSE, message: "statement ended the batch's transaction", sql: statement.sql)
                }
                results.append(StatementResult(rowsChanged: outcome.rowsChanged, columns: outcome.columns, rows: outcome.rows))
            } catch {
                throw .statementFailed(index: index, error)
            }
        }
        return results
    }

    /// Runs a query outside any batch (a `local` read). Only statements that read are allowed:
    /// writes, transaction control, ATTACH and PRAGMAs that set anything are refused. The result
    /// holds at most `limits.resultRowsMax` rows, or, given `valueBytesMax`, at most that many
    /// bytes of values (as the value codec counts them) with no separate row bound: every row
    /// takes at least one byte.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = [],
                      valueBytesMax: (bytes: Int, name: String)? = nil) throws(ShardStoreError) -> StatementResult {
        do {
            // Committed rows only, even while a transaction block is open.
            let outcome = try committedConnection().run(
                sql, parameters, access: .readOnly, rowsMax: valueBytesMax == nil ? limits.resultRowsMax : .max,
                valueBytes: valueBytesMax.map { SQLiteConnection.ValueBytesLimit(bytesMax: $0.bytes, name: $0.name) })
            return StatementResult(rowsChanged: outcome.rowsChanged, columns: outcome.columns, rows: outcome.rows)
        } catch {
            throw .sqlite(error)
        }
    }

    /// Whether SQLite's own structural check passes: used after crash-recovery tests.
    public func integrityCheck() throws(ShardStoreError) -> Bool {
        do {
            return try connection.run("PRAGMA integrity_check").rows == [[.text("ok")]]
        } catch {
            throw .sqlite(error)
        }
    }

    func rollBack() {
        // ROLLBACK fails only when SQLite already rolled back on its own (after SQLITE_FULL, say);
        // either way no transaction remains, which is what the precondition in apply checks.
        try? connection.execute("ROLLBACK")
    }
}

extension ShardStore {
    /// A SHA-256 over the logical contents: the schema, the AUTOINCREMENT counters and every row of
    /// every table (see `SQLiteConnection.logicalDigest()` for the exact encoding). Equal on every
    /// replica holding the same rows, whatever the file's page layout or free list; different as
    /// soon as one value, rowid or schema entry differs. Cost: a full scan.
    public func logicalDigest() throws(ShardStoreError) -> [UInt8] {
        do {
            return try committedConnection().logicalDigest()
        } catch {
            throw .sqlite(error)
        }
    }
}
