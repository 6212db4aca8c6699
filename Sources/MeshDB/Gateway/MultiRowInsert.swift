/// Many rows of one table as few shard statements: `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), …`
/// with the values bound as parameters. One statement per row would repeat the SQL text for
/// every row (more bytes per PBFT operation), make each replica prepare it again per row, and
/// count one statement per row against a transaction block's `statements_per_transaction_max`
/// (100,000: pgbench's COPY of 100,000 rows inside BEGIN … COMMIT would not fit).
///
/// Pure: the caller routes the rows to shards first and hands one shard's rows here.
enum MultiRowInsert {
    /// Most rows in one statement, so that a replica's parse and bind of one statement stays small.
    static let rowsPerStatementMax = 2_000
    /// Bytes of an operation left free for what wraps the statement: the write's or transaction
    /// step's header (shard id, block id, clock, statement count).
    static let operationHeadroomBytes = 1_024

    /// `rows` (each with one value per column of `columns`) as INSERT statements into `table`,
    /// in order, each within one operation of `limits`: its SQL within `sqlBytesMax`, its
    /// parameters within `parametersPerStatementMax`, its encoded size within `operationBytesMax`
    /// less `operationHeadroomBytes`. A row that alone exceeds a limit gets a statement of its own,
    /// which the shard operation's own checks then refuse with the limit's name.
    static func statements(into table: String, columns: [String], rows: [[SQLiteValue]],
                           limits: ShardOperation.Limits) -> [ShardStore.Statement] {
        precondition(!columns.isEmpty, "an INSERT names at least one column")
        let head = "INSERT INTO \(quoteIdentifier(table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        // A statement's encoding: SQL length, SQL, parameter count, parameters.
        let fixedBytes = 4 + head.utf8.count + 4
        let tupleBytes = tuple.utf8.count + 2
        let bytesMax = limits.operationBytesMax - operationHeadroomBytes
        let rowsByParameters = max(1, limits.parametersPerStatementMax / columns.count)
        let rowsBySQL = max(1, (limits.sqlBytesMax - head.utf8.count) / tupleBytes)
        let rowsMax = min(rowsPerStatementMax, rowsByParameters, rowsBySQL)

        var statements: [ShardStore.Statement] = []
        var pending: [SQLiteValue] = []
        var pendingRows = 0
        var pendingBytes = fixedBytes
        func flush() {
            guard pendingRows > 0 else { return }
            let sql = head + Array(repeating: tuple, count: pendingRows).joined(separator: ", ")
            statements.append(ShardStore.Statement(sql, pending))
            pending = []
            pendingRows = 0
            pendingBytes = fixedBytes
        }
        for row in rows {
            precondition(row.count == columns.count, "each row has one value per column")
            let rowBytes = tupleBytes + row.reduce(0) { $0 + $1.encodedByteCount }
            if pendingRows > 0, pendingRows >= rowsMax || pendingBytes + rowBytes > bytesMax { flush() }
            pending += row
            pendingRows += 1
            pendingBytes += rowBytes
        }
        flush()
        return statements
    }
}
