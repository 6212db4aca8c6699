import Consensus
import Synchronization

/// Writes: rows routed to their shard, statements run on one shard or on all of them, and the
/// row ids of tables without a shard key. Each write to one shard is one transaction ordered by
/// that shard's group; a statement spanning shards is not atomic across them (transactions come
/// with the wire issue).
extension Gateway {
    /// Inserts `rows` (values in the table's column order); returns the rows inserted. Rows are
    /// grouped by shard and each shard's rows go as multi-row INSERT statements
    /// (`MultiRowInsert`), one per ordered write within the operation limits. A table with a hidden row id gets a fresh id per row
    /// (`allocateRowIDs`), stored as the SQLite rowid and routing the row.
    /// Inside `transaction` (a session's open block, `SQLSession.currentTransaction`: COPY in a
    /// block) the rows are written as the block's steps.
    @discardableResult
    public func insert(into tableName: String, rows: [[SQLiteValue]], transaction: GatewayTransaction? = nil) async throws -> Int {
        let table = try await requireTable(tableName)
        let columns = table.spec.columns.map(\.name)
        if let bad = rows.first(where: { $0.count != columns.count }) {
            throw GatewayError(sqlState: "42601", message: "INSERT has \(bad.count) values; table \(tableName) has \(columns.count) columns")
        }
        var rowsByShard: [UInt32: [[SQLiteValue]]] = [:]
        var stored = columns
        if table.spec.hasHiddenRowID {
            let ids = try await allocateRowIDs(table, count: rows.count)
            stored.insert("rowid", at: 0)
            for (id, row) in zip(ids, rows) {
                rowsByShard[ShardRouting.shard(forRowID: id, shardCount: table.spec.shardCount), default: []].append([.integer(id)] + row)
            }
        } else {
            let keyPositions = table.spec.shardKey.compactMap { key in columns.firstIndex(of: key) }
            for row in rows {
                rowsByShard[ShardRouting.shard(forKey: keyPositions.map { row[$0] }, shardCount: table.spec.shardCount), default: []].append(row)
            }
        }
        let byShard = rowsByShard.mapValues { MultiRowInsert.statements(into: tableName, columns: stored, rows: $0, limits: operationLimits) }
        return try await write(table, byShard: byShard, transaction: transaction).reduce(0) { $0 + $1.rowsChanged }
    }

    /// Runs each shard's `statements` in ordered writes that keep within `rowsPerWriteMax`
    /// statements and the operation limits (`operation_bytes_max`), all shards at once. Returns
    /// the statement results in shard order, each shard's in statement order. Each write is
    /// atomic; the whole is not, unless it runs inside `transaction`.
    public func write(_ table: CatalogTable, byShard: [UInt32: [ShardStore.Statement]],
                      transaction: GatewayTransaction? = nil) async throws -> [ShardStore.StatementResult] {
        if let transaction { try await join(transaction, table: table, shards: byShard.keys.sorted()) }
        return try await withThrowingTaskGroup(of: (shard: UInt32, batch: Int, results: [ShardStore.StatementResult]).self) { group in
            for shard in byShard.keys.sorted() {
                let id = try shardID(table.name, shard)
                let target = try self.group(of: table, shard: shard)
                let batches = ShardOperation.writes(to: id, byShard[shard]!, limits: operationLimits, statementsMax: Self.rowsPerWriteMax)
                for (batch, statements) in batches.enumerated() {
                    group.addTask {
                        if let transaction {
                            return (shard, batch, try await self.write(statements, table: table, shard: shard, in: transaction))
                        }
                        return (shard, batch, try self.applied(await self.shardOperation(.write(id, statements: statements), group: target)))
                    }
                }
            }
            var parts: [(shard: UInt32, batch: Int, results: [ShardStore.StatementResult])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { ($0.shard, $0.batch) < ($1.shard, $1.batch) }.flatMap(\.results)
        }
    }

    /// Runs `statements` on shard `shard` of the table as one ordered write: one transaction,
    /// all or nothing. Returns one result per statement: rows changed, and the rows of a
    /// RETURNING clause or a SELECT. The statements must keep to what a shard write allows
    /// (`StatementGuard`: no transaction control, no clock or random functions) and fit one
    /// operation (`ShardOperation.Limits`: 1,000 statements, 64 KiB).
    public func write(table tableName: String, shard: UInt32, statements: [ShardStore.Statement]) async throws -> [ShardStore.StatementResult] {
        try await write(try await requireTable(tableName), shard: shard, statements: statements)
    }

    /// The same, for a table the caller has already looked up.
    public func write(_ table: CatalogTable, shard: UInt32, statements: [ShardStore.Statement]) async throws -> [ShardStore.StatementResult] {
        let id = try shardID(table.name, shard)
        return try applied(try await shardOperation(.write(id, statements: statements), group: group(of: table, shard: shard)))
    }

    /// Runs the same `statements` on every shard of the table, one ordered write per shard, all
    /// shards at once (an UPDATE or DELETE that no shard key narrows). Returns each shard's
    /// results, in shard order. Each shard's write is atomic, the whole is not: when a shard
    /// refuses, the error of the first such shard is thrown and the other shards keep what
    /// they applied.
    /// `shards` narrows the write to the shards a WHERE clause can reach (nil: every shard).
    /// Inside `transaction` the whole is atomic: a refusal aborts the transaction block.
    public func writeAll(table tableName: String, shards: [UInt32]? = nil, statements: [ShardStore.Statement],
                         transaction: GatewayTransaction? = nil) async throws -> [[ShardStore.StatementResult]] {
        let table = try await requireTable(tableName)
        if let transaction {
            let targets = shards ?? allShards(of: table)
            try await join(transaction, table: table, shards: targets)
            let outcomes = try await onShards(targets, of: table) { id, group in
                try await self.transactionStep(.write(id, statements: statements), of: transaction, group: group)
            }
            return try outcomes.map(applied)
        }
        let outcomes = try await onShards(shards ?? allShards(of: table), of: table) { .write($0, statements: statements) }
        return try outcomes.map(applied)
    }

    /// `count` fresh row ids for a table with a hidden row id: unique across every gateway of the
    /// cluster and across restarts, because each comes from a block the catalog handed out once.
    /// For an executor that renders its own `INSERT INTO t (rowid, ...)`; route each row with
    /// `ShardRouting.shard(forRowID:shardCount:)`.
    public func allocateRowIDs(table tableName: String, count: Int) async throws -> [Int64] {
        try await allocateRowIDs(try await requireTable(tableName), count: count)
    }

    /// Takes ids from this gateway's cached block for the table first, then from fresh blocks of
    /// at least `rowIDBlockSize`; what a fresh block has left is cached for the next insert. Ids
    /// a gateway cached and never used (it stopped, or the table was dropped) are skipped, never
    /// handed out twice.
    func allocateRowIDs(_ table: CatalogTable, count: Int) async throws -> [Int64] {
        var ids = rowIDCache.take(count, table: table.id)
        let perAllocationMax = Int(try await catalog().limits.rowIDsPerAllocationMax)
        while ids.count < count {
            let needed = count - ids.count
            let blockSize = min(max(needed, Self.rowIDBlockSize), perAllocationMax)
            let result = try await catalogCommand(.allocateRowIDs(table: table.name, count: UInt32(blockSize)), awaitsReplica: false)
            guard case .rowIDs(let first) = result else {
                throw GatewayError(sqlState: "XX000", message: "allocateRowIDs answered \(result)")
            }
            let used = min(needed, blockSize)
            ids += (0..<Int64(used)).map { first + $0 }
            if used < blockSize {
                rowIDCache.keep(RowIDCache.Block(next: first + Int64(used), end: first + Int64(blockSize)), table: table.id)
            }
        }
        return ids
    }

    /// The statement results of an applied write; a refused one as its error.
    func applied(_ outcome: ShardResult) throws -> [ShardStore.StatementResult] {
        switch outcome {
        case .ok(let results): return results
        case .failure(let failure): throw GatewayError(failure)
        }
    }

    static func placeholders(_ count: Int) -> String {
        (1...count).map { "?\($0)" }.joined(separator: ", ")
    }
}

/// The row ids a gateway took from the catalog and has not used yet: one block per table,
/// keyed by the table's object id so that a table dropped and created again under the same
/// name never gets ids from the old table's block (its counter starts again at 1).
final class RowIDCache: Sendable {
    /// The ids next..<end.
    struct Block: Sendable {
        var next: Int64
        var end: Int64

        var count: Int { Int(end - next) }
    }

    private let blocks = Mutex<[UInt64: Block]>([:])

    /// Up to `count` ids of table `id` from its cached block, in order.
    func take(_ count: Int, table id: UInt64) -> [Int64] {
        blocks.withLock { blocks in
            guard var block = blocks[id] else { return [] }
            let taken = min(count, block.count)
            let ids = (0..<Int64(taken)).map { block.next + $0 }
            block.next += Int64(taken)
            blocks[id] = block.count > 0 ? block : nil
            return ids
        }
    }

    /// Caches what is left of a fresh block, unless a concurrent insert cached a larger one.
    func keep(_ block: Block, table id: UInt64) {
        blocks.withLock { blocks in
            if let cached = blocks[id], cached.count >= block.count { return }
            blocks[id] = block
        }
    }
}
