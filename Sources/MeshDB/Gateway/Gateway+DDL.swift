import Consensus

/// DDL: the metadata group orders the catalog change first, then the gateway runs the matching
/// DDL on every shard of the table. Shards are not one transaction with the catalog, so when
/// the shards refuse what the catalog accepted (a unique index over duplicate rows, a NOT NULL
/// column added to a table with rows, SQL that SQLite rejects), the gateway undoes the change on
/// the shards that took it and then in the catalog, and reports the shard's error. A gateway
/// that stops in between leaves the catalog ahead of some shards.
extension Gateway {
    /// Creates a table: ordered by the metadata group, then its shards created in their groups
    /// with the spec's shard DDL.
    @discardableResult
    public func createTable(_ spec: CatalogTableSpec, ifNotExists: Bool = false) async throws -> DDLResult {
        // The catalog checks again when it executes; checking here first gives a spec's error
        // (54011 for too many columns, say) before the command's size or a PBFT round.
        do {
            try CatalogStateMachine.validate(spec, try await catalog().limits)
        } catch let error as CatalogError {
            throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
        let result = try await catalogCommand(.createTable(spec, ifNotExists: ifNotExists))
        // After a skip, the shards of the existing table are created again (each refusing as
        // existing), which completes a CREATE TABLE whose gateway stopped half-way; a view or
        // index holding the name has no shards.
        guard let table = try await catalog().table(named: spec.name) else { return try DDLResult(result) }
        let ddl = ShardRouting.shardDDL(for: table.spec)
        let outcomes = try await onShards(allShards(of: table), of: table) { .createShard($0, ddl: ddl) }
        let refusal = firstFailure(outcomes) { $0.kind == .shardExists }
        if let refusal, case .ok = result {
            _ = try await onShards(succeeded(outcomes), of: table) { .dropShard($0) }
            _ = try await catalogCommand(.dropTable(name: spec.name, ifExists: true))
            throw GatewayError(refusal)
        }
        if let refusal { throw GatewayError(refusal) }
        return try DDLResult(result)
    }

    /// Drops a table, its indexes and its shards.
    @discardableResult
    public func dropTable(_ name: String, ifExists: Bool = false) async throws -> DDLResult {
        let table = try await catalog().table(named: name)
        let result = try await catalogCommand(.dropTable(name: name, ifExists: ifExists))
        guard case .ok = result, let table else { return try DDLResult(result) }
        let outcomes = try await onShards(allShards(of: table), of: table) { .dropShard($0) }
        if let refusal = firstFailure(outcomes, ignoring: { $0.kind == .shardNotFound }) { throw GatewayError(refusal) }
        return try DDLResult(result)
    }

    /// Creates an index: in the catalog, then `index.sql` on every shard of its table (one
    /// ordered write each). A unique index must include the table's shard key.
    @discardableResult
    public func createIndex(_ index: CatalogIndex, ifNotExists: Bool = false) async throws -> DDLResult {
        let result = try await catalogCommand(.createIndex(index, ifNotExists: ifNotExists))
        guard case .ok = result else { return try DDLResult(result) }
        let table = try await requireTable(index.table)
        let sql = index.sql
        let outcomes = try await onShards(allShards(of: table), of: table) { .write($0, statements: [ShardStore.Statement(sql)]) }
        if let refusal = firstFailure(outcomes) {
            let undo = "DROP INDEX IF EXISTS \(quoteIdentifier(index.name))"
            _ = try await onShards(succeeded(outcomes), of: table) { .write($0, statements: [ShardStore.Statement(undo)]) }
            _ = try await catalogCommand(.dropIndex(name: index.name, ifExists: true))
            throw GatewayError(refusal)
        }
        return try DDLResult(result)
    }

    /// Drops an index from the catalog, then from every shard of its table.
    @discardableResult
    public func dropIndex(_ name: String, ifExists: Bool = false) async throws -> DDLResult {
        let index = try await catalog().index(named: name)
        let result = try await catalogCommand(.dropIndex(name: name, ifExists: ifExists))
        guard case .ok = result, let index, let table = try await catalog().table(named: index.table) else { return try DDLResult(result) }
        let sql = "DROP INDEX IF EXISTS \(quoteIdentifier(name))"
        let outcomes = try await onShards(allShards(of: table), of: table) { .write($0, statements: [ShardStore.Statement(sql)]) }
        if let refusal = firstFailure(outcomes) { throw GatewayError(refusal) }
        return try DDLResult(result)
    }

    /// Stores a view; it has no shards.
    @discardableResult
    public func createView(_ view: CatalogView, ifNotExists: Bool = false) async throws -> DDLResult {
        try DDLResult(try await catalogCommand(.createView(view, ifNotExists: ifNotExists)))
    }

    @discardableResult
    public func dropView(_ name: String, ifExists: Bool = false) async throws -> DDLResult {
        try DDLResult(try await catalogCommand(.dropView(name: name, ifExists: ifExists)))
    }

    /// ALTER TABLE ... ADD COLUMN: appends `column` in the catalog, then runs `shardDDL` on every
    /// shard. Without `shardDDL`, the ALTER TABLE is rendered from the column (type, NOT NULL).
    /// SQLite refuses some columns only on shards that hold rows (NOT NULL without a default, a
    /// CHECK the rows break): the column is then dropped again from the shards that added it and
    /// from the catalog.
    @discardableResult
    public func addColumn(_ column: CatalogColumn, to tableName: String, shardDDL: String? = nil) async throws -> DDLResult {
        let sql = shardDDL ?? "ALTER TABLE \(quoteIdentifier(tableName)) ADD COLUMN \(quoteIdentifier(column.name)) \(column.type.sqliteType)"
            + (column.notNull ? " NOT NULL" : "")
        let result = try await catalogCommand(.addColumn(table: tableName, column: column, shardDDL: sql))
        let table = try await requireTable(tableName)
        let outcomes = try await onShards(allShards(of: table), of: table) { .write($0, statements: [ShardStore.Statement(sql)]) }
        if let refusal = firstFailure(outcomes) {
            let undo = "ALTER TABLE \(quoteIdentifier(tableName)) DROP COLUMN \(quoteIdentifier(column.name))"
            _ = try await onShards(succeeded(outcomes), of: table) { .write($0, statements: [ShardStore.Statement(undo)]) }
            _ = try await catalogCommand(.dropColumn(table: tableName, column: column.name))
            throw GatewayError(refusal)
        }
        return try DDLResult(result)
    }

    /// The first failure in shard order, unless `ignoring` accepts it.
    private func firstFailure(_ outcomes: [ShardResult], ignoring: (ShardFailure) -> Bool = { _ in false }) -> ShardFailure? {
        for outcome in outcomes {
            if case .failure(let failure) = outcome, !ignoring(failure) { return failure }
        }
        return nil
    }

    /// The shards (positions in `outcomes`, which cover every shard in order) that applied the operation.
    private func succeeded(_ outcomes: [ShardResult]) -> [UInt32] {
        outcomes.indices.compactMap { shard in
            if case .ok = outcomes[shard] { UInt32(shard) } else { nil }
        }
    }
}

extension Gateway.DDLResult {
    /// A DDL command's result; `catalogCommand` has thrown its errors already.
    init(_ result: CatalogResult) throws {
        switch result {
        case .ok(let tag): self.init(tag: tag, notice: nil)
        case .skipped(let tag, let notice): self.init(tag: tag, notice: notice)
        case .rowIDs, .error: throw GatewayError(sqlState: "XX000", message: "a DDL command answered \(result)")
        }
    }
}
