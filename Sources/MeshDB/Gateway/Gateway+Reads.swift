import Consensus

/// Reads: one SELECT on one shard in the consistency asked for, and the row lookups and scans
/// built on it. A `local` or `verified` read returns up to the shards' `readResultBytesMax`
/// (16 MiB, error 54000 beyond); a `linearizable` one travels in a PBFT reply and is bounded by
/// `resultBytesMax` (64 KiB, error 53400 beyond).
extension Gateway {
    /// Runs the SELECT `sql` on shard `shard` of the table and returns its rows.
    public func read(table tableName: String, shard: UInt32, sql: String, parameters: [SQLiteValue] = [],
                     consistency: ReadConsistency = .verified) async throws -> Rows {
        try await read(try await requireTable(tableName), shard: shard, sql: sql, parameters: parameters, consistency: consistency)
    }

    /// The same, for a table the caller has already looked up.
    public func read(_ table: CatalogTable, shard: UInt32, sql: String, parameters: [SQLiteValue] = [],
                     consistency: ReadConsistency = .verified) async throws -> Rows {
        try checkReadLimits(sql: sql, parameters: parameters)
        let id = try shardID(table.name, shard)
        let group = try group(of: table, shard: shard)
        let outcome: ShardResult
        switch consistency {
        case .verified:
            let query = ShardOperation.read(id, sql: sql, parameters: parameters).encoded()
            guard query.count <= operationLimits.operationBytesMax else {
                throw GatewayError(sqlState: "54000", message: "a shard read of \(query.count) bytes exceeds operation_bytes_max = \(operationLimits.operationBytesMax)")
            }
            let bytes = try await runtime.verifiedRead(group: group, query: query)
            outcome = try ShardResult(decoding: bytes)
        case .linearizable:
            outcome = try await shardOperation(.read(id, sql: sql, parameters: parameters), group: group)
        case .local:
            outcome = try await runtime.readStateMachine(group: group) { machine in
                guard let shards = machine as? ShardStateMachine else {
                    throw GatewayError(sqlState: "XX000", message: "group \(group) does not run shards")
                }
                return shards.localQuery(id, sql, parameters)
            }
        }
        guard let result = try applied(outcome).first else { return Rows(columns: [], rows: []) }
        return Rows(columns: result.columns, rows: result.rows)
    }

    /// A shard read carries its SQL and parameters to the replicas, which refuse an operation
    /// over `ShardOperation.Limits`: refused here first, with the limit named (a replica's
    /// refusal of a verified read could only say the request was malformed).
    func checkReadLimits(sql: String, parameters: [SQLiteValue]) throws {
        let limits = operationLimits
        guard sql.utf8.count <= limits.sqlBytesMax else {
            throw GatewayError(sqlState: "54000", message: "the SQL a shard runs for this statement is \(sql.utf8.count) bytes, above sql_bytes_max = \(limits.sqlBytesMax) (a long IN list or expression is the usual cause)")
        }
        guard parameters.count <= limits.parametersPerStatementMax else {
            throw GatewayError(sqlState: "54000", message: "a shard read of \(parameters.count) parameters exceeds parameters_per_statement_max = \(limits.parametersPerStatementMax)")
        }
        for value in parameters {
            switch value {
            case .text(let text) where text.utf8.count > limits.textBytesMax:
                throw GatewayError(sqlState: "54000", message: "a text value of \(text.utf8.count) bytes in a shard read exceeds text_bytes_max = \(limits.textBytesMax)")
            case .blob(let bytes) where bytes.count > limits.blobBytesMax:
                throw GatewayError(sqlState: "54000", message: "a bytea value of \(bytes.count) bytes in a shard read exceeds blob_bytes_max = \(limits.blobBytesMax)")
            default:
                break
            }
        }
    }

    /// The row whose shard key (and primary key) is `key`, or nil.
    public func get(from tableName: String, key: [SQLiteValue], consistency: ReadConsistency = .verified) async throws -> [SQLiteValue]? {
        let table = try await requireTable(tableName)
        guard key.count == table.spec.primaryKey.count, table.spec.shardKey == table.spec.primaryKey, !key.isEmpty else {
            throw GatewayError(sqlState: "0A000", message: "get needs the full primary key of \(tableName), which must be its shard key")
        }
        let shard = ShardRouting.shard(forKey: key, shardCount: table.spec.shardCount)
        let condition = table.spec.primaryKey.enumerated().map { "\(quoteIdentifier($1)) = ?\($0 + 1)" }.joined(separator: " AND ")
        let rows = try await read(table, shard: shard, sql: "SELECT * FROM \(quoteIdentifier(tableName)) WHERE \(condition)",
                                  parameters: key, consistency: consistency)
        return rows.rows.first
    }

    /// Every row of the table, shard by shard, each shard's rows in primary-key order (rowid
    /// order for a table without a primary key).
    public func scan(_ tableName: String, consistency: ReadConsistency = .verified) async throws -> Rows {
        let table = try await requireTable(tableName)
        let order = table.spec.primaryKey.isEmpty ? "rowid" : table.spec.primaryKey.map(quoteIdentifier).joined(separator: ", ")
        var columns = table.spec.columns.map(\.name)
        var rows: [[SQLiteValue]] = []
        for shard in 0..<table.spec.shardCount {
            let part = try await read(table, shard: shard, sql: "SELECT * FROM \(quoteIdentifier(tableName)) ORDER BY \(order)",
                                      parameters: [], consistency: consistency)
            columns = part.columns.isEmpty ? columns : part.columns
            rows += part.rows
        }
        return Rows(columns: columns, rows: rows)
    }

    /// A system table (`CatalogStateMachine.systemTableNames`: mesh_nodes, mesh_tables,
    /// mesh_columns, mesh_indexes, mesh_views, mesh_shards, mesh_groups) or a PostgreSQL system
    /// relation (`PostgresCatalog.relations`) from this node's catalog replica.
    public func systemTable(_ name: String) throws -> Rows {
        let catalog = try catalogSnapshot()
        if let relation = PostgresCatalog.relation(named: name) {
            return Rows(columns: relation.columns.map(\.name), rows: PostgresCatalog.rows(of: relation, catalog: catalog))
        }
        guard let rows = catalog.systemTable(named: name) else {
            throw GatewayError(sqlState: "42P01", message: "relation \"\(name)\" does not exist")
        }
        return Rows(columns: rows.columns, rows: rows.rows)
    }
}
