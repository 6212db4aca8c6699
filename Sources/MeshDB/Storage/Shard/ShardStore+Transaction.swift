import CSQLite

/// A transaction block that stays open across ordered operations (`ShardTransactionTable`): the
/// shard group runs an open transaction's statements one operation at a time on the store's own
/// connection, and only COMMIT makes them visible. Everyone else reads the committed rows through
/// a second connection: in WAL mode a reader never sees another connection's uncommitted pages,
/// so `local` and `verified` reads, checkpoint digests and snapshots keep to committed state
/// while a transaction block is open, alike on every replica.
extension ShardStore {
    /// Whether a transaction block holds the store's connection.
    var hasOpenTransaction: Bool { connection.isInTransaction }

    /// The connection that sees committed rows only: the store's own when no transaction block is
    /// open (it then holds exactly the committed rows), else the committed reader.
    func committedConnection() throws(SQLiteError) -> SQLiteConnection {
        guard connection.isInTransaction else { return connection }
        if let committedReader { return committedReader }
        let reader = try SQLiteConnection(path: path, readOnly: true)
        // As the writer: wait out a checkpoint briefly rather than fail (a local condition).
        try reader.execute("PRAGMA busy_timeout=5000")
        committedReader = reader
        return reader
    }

    /// Starts a transaction block. Precondition: none is open (the transaction table holds one
    /// lock per shard).
    func beginTransactionBlock() throws(ShardStoreError) {
        precondition(!connection.isInTransaction, "one transaction block per shard at a time")
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            throw .sqlite(error)
        }
    }

    /// Runs `batch` inside the open transaction block. On failure the error names the statement
    /// (0-based); the caller aborts the whole block, as PostgreSQL aborts a transaction at its
    /// first error.
    func applyInTransactionBlock(_ batch: [Statement]) throws(ShardStoreError) -> [StatementResult] {
        precondition(connection.isInTransaction, "a transaction block is open")
        guard batch.count <= limits.batchStatementsMax else {
            throw .limitExceeded("batch of \(batch.count) statements exceeds batch_statements_max = \(limits.batchStatementsMax)")
        }
        return try runInOpenTransaction(batch)
    }

    /// A read inside the open transaction block: it sees the block's own writes.
    func queryInTransactionBlock(_ sql: String, _ parameters: [SQLiteValue]) throws(ShardStoreError) -> StatementResult {
        precondition(connection.isInTransaction, "a transaction block is open")
        do {
            let outcome = try connection.run(sql, parameters, access: .readOnly, rowsMax: limits.resultRowsMax)
            return StatementResult(rowsChanged: outcome.rowsChanged, columns: outcome.columns, rows: outcome.rows)
        } catch {
            throw .sqlite(error)
        }
    }

    /// Makes the block's writes durable and visible (fsync per `durability`, as `apply`).
    func commitTransactionBlock() throws(ShardStoreError) {
        precondition(connection.isInTransaction, "a transaction block is open")
        do {
            try connection.execute("COMMIT")
        } catch {
            rollBack()
            throw .sqlite(error)
        }
    }

    /// Discards the block's writes.
    func rollBackTransactionBlock() {
        rollBack()
    }
}
