import CSQLite
import Crypto

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
    let connection: SQLiteConnection

    /// Opens (creating if needed) the shard database at `path`.
    public init(path: String, durability: Durability = .fsync, limits: Limits = Limits()) throws(ShardStoreError) {
        self.path = path
        self.durability = durability
        self.limits = limits
        do {
            connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA journal_mode=WAL")
            try connection.execute(durability == .fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
            // A writer waits rather than failing when a snapshot reader holds the database briefly.
            try connection.execute("PRAGMA busy_timeout=5000")
        } catch {
            throw .sqlite(error)
        }
    }

    public func close() { connection.close() }

    /// Applies `batch` in one transaction: every statement or none. On failure the transaction
    /// is rolled back and the error names the statement (0-based) that failed.
    @discardableResult
    public func apply(_ batch: [Statement]) throws(ShardStoreError) -> [StatementResult] {
        guard batch.count <= limits.batchStatementsMax else {
            throw .limitExceeded("batch of \(batch.count) statements exceeds batch_statements_max = \(limits.batchStatementsMax)")
        }
        guard !connection.isInTransaction else {
            preconditionFailure("a shard store is never left inside a transaction between batches")
        }
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            throw .sqlite(error)
        }
        var results: [StatementResult] = []
        results.reserveCapacity(batch.count)
        for (index, statement) in batch.enumerated() {
            do {
                let outcome = try connection.run(statement.sql, statement.parameters, rowsMax: limits.resultRowsMax)
                results.append(StatementResult(rowsChanged: outcome.rowsChanged, columns: outcome.columns, rows: outcome.rows))
            } catch {
                rollBack()
                throw .statementFailed(index: index, error)
            }
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            rollBack()
            throw .sqlite(error)
        }
        return results
    }

    /// Runs a read-only query outside any batch (a `local` read).
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(ShardStoreError) -> StatementResult {
        do {
            let outcome = try connection.run(sql, parameters, rowsMax: limits.resultRowsMax)
            return StatementResult(rowsChanged: outcome.rowsChanged, columns: outcome.columns, rows: outcome.rows)
        } catch {
            throw .sqlite(error)
        }
    }

    /// Whether SQLite's own structural check passes: used after crash-recovery tests.
    public func integrityCheck() throws(ShardStoreError) -> Bool {
        try query("PRAGMA integrity_check").rows == [[.text("ok")]]
    }

    private func rollBack() {
        // ROLLBACK fails only when SQLite already rolled back on its own (after SQLITE_FULL, say);
        // either way no transaction remains, which is what the precondition in apply checks.
        try? connection.execute("ROLLBACK")
    }
}

extension ShardStore {
    /// A SHA-256 over the logical contents: the schema and every row of every table, tables by
    /// name and rows in primary-key order (then by every column, so tables without a key or with
    /// duplicate rows are ordered too). Equal on every replica holding the same rows, whatever
    /// the file's page layout, free-list or insertion history.
    ///
    /// Encoding per value: a type tag, then 8 big-endian bytes (integer, real bit pattern) or a
    /// 4-byte length and the bytes (text, blob). Cost: a full scan; checkpoints are every K batches.
    public func logicalDigest() throws(ShardStoreError) -> [UInt8] {
        var hasher = SHA256()
        do {
            let schema = try connection.run(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            for entry in schema.rows {
                hasher.update(tag: 0x10)
                for value in entry { hasher.update(value) }
            }
            let tables = schema.rows.compactMap { row -> String? in
                guard row[0] == .text("table"), case .text(let name) = row[1] else { return nil }
                return name
            }
            for table in tables {
                hasher.update(tag: 0x20)
                hasher.update(.text(table))
                var rowCount: UInt64 = 0
                try connection.forEachRow("SELECT * FROM \(quoteIdentifier(table)) ORDER BY \(try digestOrder(of: table))") { statement, columns in
                    for index in 0..<columns {
                        hasher.update(connection.column(statement, index))
                    }
                    rowCount += 1
                }
                hasher.update(tag: 0x21)
                hasher.update(.integer(Int64(bitPattern: rowCount)))
            }
        } catch {
            throw .sqlite(error)
        }
        return Array(hasher.finalize())
    }

    /// Primary-key columns in key order, then every column by position.
    private func digestOrder(of table: String) throws(SQLiteError) -> String {
        let info = try connection.run("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid", [.text(table)])
        let keyColumns = info.rows
            .compactMap { row -> (Int64, String)? in
                guard case .text(let name) = row[0], case .integer(let position) = row[1], position > 0 else { return nil }
                return (position, name)
            }
            .sorted { $0.0 < $1.0 }
            .map { quoteIdentifier($0.1) }
        let allColumns = (1...max(1, info.rows.count)).map(String.init)
        return (keyColumns + allColumns).joined(separator: ", ")
    }
}

func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension SHA256 {
    fileprivate mutating func update(tag: UInt8) { update(data: [tag]) }

    fileprivate mutating func update(_ value: SQLiteValue) {
        func bigEndian(_ number: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: number >> (56 - 8 * $0)) } }
        func length(_ count: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: UInt32(count) >> (24 - 8 * $0)) } }
        switch value {
        case .null:
            update(data: [0])
        case .integer(let number):
            update(data: [1] + bigEndian(UInt64(bitPattern: number)))
        case .real(let number):
            update(data: [2] + bigEndian(number.bitPattern))
        case .text(let string):
            let bytes = Array(string.utf8)
            update(data: [3] + length(bytes.count))
            update(data: bytes)
        case .blob(let bytes):
            update(data: [4] + length(bytes.count))
            update(data: bytes)
        }
    }
}
