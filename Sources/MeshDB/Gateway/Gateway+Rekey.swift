import Consensus

/// ALTER TABLE … ADD PRIMARY KEY on a table that has rows: its rows are routed by a new key, so
/// every row may belong to another shard than the one that holds it. The gateway rewrites the
/// table inside one transaction block of its shard group (`Gateway+Transactions.swift`), so that
/// the shards switch layouts all at once or not at all and no write lands in between:
///
/// 1. the block locks every shard of the table (strict 2PL: writes to it wait from here on);
/// 2. the rows are read (verified reads of the committed rows, which the lock keeps still) and
///    checked at the gateway: a NULL in a key column is 23502, a repeated key 23505;
/// 3. each shard, as the block's steps, drops its table, creates it again with the new shard
///    DDL (PRIMARY KEY, NOT NULL), recreates the table's indexes and inserts the rows the new key
///    routes to it;
/// 4. the metadata group orders the new spec (`CatalogCommand.rekeyTable`), then the block
///    commits. A refusal before the commit rolls the block back (the shards keep the old layout);
///    a commit that fails puts the old spec back in the catalog.
///
/// Costs: every row travels to the gateway and back through PBFT once, and the table takes no
/// writes meanwhile. A block lives in one shard group, so a table whose shards span groups is
/// refused (0A000).
extension Gateway {
    /// Gives the table `spec.name` the keys of `spec` (built by the SQL layer from the current
    /// spec: `DDLExecutor.keyedSpec`) and moves its rows to the shards that key routes them to.
    @discardableResult
    public func rekeyTable(_ spec: CatalogTableSpec) async throws -> DDLResult {
        do {
            try CatalogStateMachine.validate(spec, try await catalog().limits)
        } catch let error as CatalogError {
            throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
        let table = try await requireTable(spec.name)
        let shards = allShards(of: table)
        let indexes = try await catalog().indexes(on: spec.name).map(\.sql)
        let block = newTransaction(idleTimeoutMillis: SQLSession.idleInTransactionTimeoutDefaultMillis)
        let result: CatalogResult
        do {
            try await join(block, table: table, shards: shards)
            // 1. Lock: a read step holds the shard for the block until it ends.
            _ = try await onShards(shards, of: table) { id, group in
                try await self.transactionStep(.read(id, sql: "SELECT 1 WHERE 0", parameters: []), of: block, group: group)
            }.map(applied)
            // 2. Read and check.
            let columns = spec.columns.map(\.name)
            let select = "SELECT \(columns.map(quoteIdentifier).joined(separator: ", ")) FROM \(quoteIdentifier(spec.name))"
            var rows: [[SQLiteValue]] = []
            for shard in shards {
                rows += try await read(table, shard: shard, sql: select, consistency: .verified).rows
            }
            let keyPositions = spec.primaryKey.map { name in columns.firstIndex(of: name)! }
            try Self.checkPrimaryKey(rows, keyPositions: keyPositions, spec: spec)
            // 3. Rewrite each shard inside the block.
            let shardPositions = spec.shardKey.map { name in columns.firstIndex(of: name)! }
            var byShard: [UInt32: [[SQLiteValue]]] = [:]
            for row in rows {
                byShard[ShardRouting.shard(forKey: shardPositions.map { row[$0] }, shardCount: spec.shardCount), default: []].append(row)
            }
            let rowsByShard = byShard
            let layout = ["DROP TABLE \(quoteIdentifier(spec.name))"] + ShardRouting.shardDDL(for: spec) + indexes
            let limits = operationLimits
            _ = try await onShards(shards, of: table) { id, group in
                let inserts = MultiRowInsert.statements(into: spec.name, columns: columns, rows: rowsByShard[id.shard] ?? [], limits: limits)
                var outcome = try await self.transactionStep(.write(id, statements: layout.map { ShardStore.Statement($0) }), of: block, group: group)
                for insert in inserts {
                    guard case .ok = outcome else { break }
                    outcome = try await self.transactionStep(.write(id, statements: [insert]), of: block, group: group)
                }
                return outcome
            }.map(applied)
            // The rows move between shards without a put: their out-of-line values' chunks are
            // refreshed, so a collection round that misses a row in both places keeps them. Here,
            // after the rewrite and just before the commit, because the rewrite of a large table
            // can take longer than gc_grace (docs/blobs.md, the bound is refresh to commit).
            try await refreshChunks(ofReferencesIn: rows, of: spec)
            // 4. The new spec, then the commit.
            result = try await catalogCommand(.rekeyTable(spec))
        } catch {
            try? await rollBack(block)
            throw error
        }
        do {
            try await commit(block)
        } catch {
            _ = try? await catalogCommand(.rekeyTable(table.spec))
            throw error
        }
        return try DDLResult(result)
    }

    /// 23502 for a NULL in a key column, 23505 for a key two rows share, as PostgreSQL reports
    /// them when it cannot build the primary key's index.
    static func checkPrimaryKey(_ rows: [[SQLiteValue]], keyPositions: [Int], spec: CatalogTableSpec) throws {
        var seen: Set<[SQLiteValue]> = []
        for row in rows {
            let key = keyPositions.map { row[$0] }
            if let nullAt = key.firstIndex(of: .null) {
                throw GatewayError(sqlState: "23502", message: "column \"\(spec.primaryKey[nullAt])\" of relation \"\(spec.name)\" contains null values")
            }
            guard seen.insert(key).inserted else {
                let shown = key.map(\.description).joined(separator: ", ")
                throw GatewayError(sqlState: "23505", message: "could not create unique index \"\(spec.name)_pkey\": key (\(spec.primaryKey.joined(separator: ", ")))=(\(shown)) is duplicated")
            }
        }
    }
}
