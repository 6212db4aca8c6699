import QueryPlanner

/// CREATE / DROP / ALTER: turned into catalog commands (ordered by the metadata group) and the
/// shard DDL each shard runs (rendered for SQLite, MeshDB's own options left out).
struct DDLExecutor {
    let session: SQLSession
    private var gateway: Gateway { session.gateway }
    /// Most shards one table may have.
    static let shardCountMax = 1_024

    func createTable(_ create: CreateTable) async throws {
        var columns: [CatalogColumn] = []
        var primaryKey: [String] = []
        var unique: [CatalogUniqueConstraint] = []
        for definition in create.columns {
            let affinity = definition.type?.affinity ?? .blob
            var column = CatalogColumn(name: definition.name.name, type: Self.columnType(definition.type, affinity: affinity),
                                       declaredType: definition.type?.description ?? "")
            for constraint in definition.constraints {
                switch constraint.kind {
                case .primaryKey:
                    guard primaryKey.isEmpty else {
                        throw SQLError(.init("42P16"), "multiple primary keys for table \"\(create.name.name)\" are not allowed",
                                       position: constraint.location.offset + 1)
                    }
                    primaryKey = [definition.name.name]
                    column.notNull = true
                case .notNull: column.notNull = true
                case .null: break
                case .unique: column.unique = true
                case .defaultValue: column.hasDefault = true
                case .check: break
                }
            }
            columns.append(column)
        }
        for constraint in create.constraints {
            switch constraint.kind {
            case .primaryKey(let keyColumns):
                guard primaryKey.isEmpty else {
                    throw SQLError(.init("42P16"), "multiple primary keys for table \"\(create.name.name)\" are not allowed",
                                   position: constraint.location.offset + 1)
                }
                primaryKey = keyColumns.map(\.name.name)
                for name in primaryKey {
                    guard let index = columns.firstIndex(where: { $0.name == name }) else {
                        throw SQLError(.undefinedColumn, "column \"\(name)\" named in key does not exist", position: constraint.location.offset + 1)
                    }
                    columns[index].notNull = true
                }
            case .unique(let keyColumns):
                unique.append(CatalogUniqueConstraint(name: constraint.name?.name ?? "", columns: keyColumns.map(\.name.name)))
            case .check:
                break
            }
        }
        // Default shard key: the primary key; without one, the columns of the first UNIQUE
        // constraint (so that it can be enforced inside one shard); else a hidden row id.
        let firstUnique = unique.first?.columns ?? columns.first(where: \.unique).map { [$0.name] } ?? []
        let shardKey = create.shardBy.map { $0.map(\.name) } ?? (primaryKey.isEmpty ? firstUnique : primaryKey)
        try Self.refuseByteaKey(primaryKey, of: columns, as: "a primary key", at: create.location)
        for constraint in unique { try Self.refuseByteaKey(constraint.columns, of: columns, as: "a UNIQUE constraint", at: create.location) }
        try Self.refuseByteaKey(columns.filter(\.unique).map(\.name), of: columns, as: "a UNIQUE constraint", at: create.location)
        try Self.refuseByteaKey(shardKey, of: columns, as: "a shard key", at: create.location)
        let shardCount = create.shardCount ?? SQLSession.defaultShardCount
        guard shardCount >= 1, shardCount <= Self.shardCountMax else {
            throw SQLError(.programLimitExceeded, "SHARDS \(shardCount) is outside 1…\(Self.shardCountMax) (shard_count_max)", position: create.location.offset + 1)
        }
        var shardTable = create
        shardTable.ifNotExists = false
        shardTable.shardBy = nil
        shardTable.shardCount = nil
        let spec = CatalogTableSpec(name: create.name.name, columns: columns, primaryKey: primaryKey, shardKey: shardKey,
                                    shardCount: UInt32(shardCount), uniqueConstraints: unique,
                                    shardDDL: [SQLiteRenderer.render(.createTable(try ColumnTypeChecks.adding(to: shardTable)))])
        _ = try await gateway.createTable(spec, ifNotExists: create.ifNotExists)
    }

    /// A bytea column keeps a value above blob_inline_max as a reference, and whether a value
    /// leaves the row depends on the session's blob_inline_max and the row's size: the same bytes
    /// may be stored in two forms, which compare unequal. So no bytea column takes part in a
    /// key, a uniqueness rule or routing (docs/blobs.md); 0A000 naming the column.
    static func refuseByteaKey(_ names: [String], of columns: [CatalogColumn], as role: String, at location: SourceLocation) throws {
        for name in names {
            guard let column = columns.first(where: { $0.name == name }), column.holdsOutOfLineValues else { continue }
            throw SQLError(.featureNotSupported,
                           "bytea column \"\(name)\" cannot be part of \(role): a bytea value above blob_inline_max is stored as a reference, so equal values may be stored in two forms",
                           position: location.offset + 1)
        }
    }

    /// ADD COLUMN fills the existing rows with the DEFAULT on the shards, past the gateway that
    /// keeps a bytea column's values BLOBs (`BlobReference`): a text default there could pass
    /// for a blob reference, so a bytea column's default must be NULL or a bytea literal.
    static func refuseTextDefault(_ definition: ColumnDefinition, column: CatalogColumn) throws {
        guard column.holdsOutOfLineValues else { return }
        for constraint in definition.constraints {
            guard case .defaultValue(let value) = constraint.kind else { continue }
            switch value.kind {
            case .literal(.null), .literal(.blob): continue
            case .cast(let operand, let type) where type.name == "bytea":
                if case .literal(.string(let text)) = operand.kind, ByteaText.bytes(text) != nil { continue }
            default: break
            }
            throw SQLError(.featureNotSupported, "the DEFAULT of an added bytea column must be NULL or a bytea literal (X'…' or '\\x…'::bytea)",
                           position: constraint.location.offset + 1)
        }
    }

    static func columnType(_ type: TypeName?, affinity: TypeAffinity) -> CatalogColumnType {
        switch type?.name {
        case "boolean", "bool": return .boolean
        case "timestamp": return .timestamp
        default: break
        }
        switch affinity {
        case .integer: return .integer
        case .real: return .real
        case .numeric: return .numeric
        case .text: return .text
        case .blob: return .blob
        }
    }

    func createIndex(_ create: CreateIndex) async throws {
        guard let table = try await gateway.table(named: create.table.name) else {
            throw SQLError(.undefinedTable, "relation \"\(create.table.name)\" does not exist", position: create.table.location.offset + 1)
        }
        if create.unique {
            try Self.refuseByteaKey(create.columns.map(\.name.name), of: table.spec.columns, as: "a unique index", at: create.location)
        }
        var shardIndex = create
        shardIndex.ifNotExists = false
        let index = CatalogIndex(name: create.name.name, table: create.table.name, columns: create.columns.map(\.name.name),
                                 unique: create.unique, sql: SQLiteRenderer.render(.createIndex(shardIndex)))
        _ = try await gateway.createIndex(index, ifNotExists: create.ifNotExists)
    }

    func createView(_ create: CreateView) async throws {
        // Plan the query once: unknown tables and columns fail now, at their position.
        _ = try await session.planner().plan(create.query)
        if create.temporary {
            try await createTemporaryView(create)
            return
        }
        let view = CatalogView(name: create.name.name, sql: SQLiteRenderer.render(.select(create.query)), columns: create.columns.map(\.name))
        _ = try await gateway.createView(view, ifNotExists: create.ifNotExists)
    }

    /// A view of this session only (CREATE TEMP VIEW): kept by the session, planned like any view,
    /// never replicated. Its name may not hide a table, index or view of the catalog.
    private func createTemporaryView(_ create: CreateView) async throws {
        let name = create.name.name
        let position = create.name.location.offset + 1
        let catalog = try await gateway.catalog()
        let taken = await session.temporaryViews[name] != nil
        if taken || catalog.relationKind(named: name) != nil {
            if create.ifNotExists { return }
            throw SQLError(.init("42P07"), "relation \"\(name)\" already exists", position: position)
        }
        guard await session.temporaryViews.count < SQLSession.temporaryViewsMax else {
            throw SQLError(.init("54000"), "a session holds at most temp_views_max = \(SQLSession.temporaryViewsMax) temporary views",
                           position: position)
        }
        do {
            try CatalogStateMachine.validateName(name, "view", catalog.limits)
        } catch {
            throw SQLError(SQLState(error.sqlState), error.message, position: position)
        }
        let view = PlannerView(name: name, sql: SQLiteRenderer.render(.select(create.query)), columns: create.columns.map(\.name))
        await session.addTemporaryView(view)
    }

    /// DROP of one or several objects. Without IF EXISTS every name must exist before anything is
    /// dropped, as in PostgreSQL; the objects are then dropped one by one, each an ordered catalog
    /// command (a gateway that stops half-way leaves the rest in place).
    func drop(_ drop: Drop) async throws {
        if !drop.ifExists {
            let catalog = try await gateway.catalog()
            for name in drop.names where catalog.relationKind(named: name.name) == nil {
                if drop.objectKind == .view, await session.temporaryViews[name.name] != nil { continue }
                let what = drop.objectKind == .index ? "index" : drop.objectKind == .view ? "view" : "table"
                throw SQLError(drop.objectKind == .index ? .undefinedObject : .undefinedTable, "\(what) \"\(name.name)\" does not exist",
                               position: name.location.offset + 1)
            }
        }
        for name in drop.names {
            if drop.objectKind == .view, await session.removeTemporaryView(name.name) { continue }
            switch drop.objectKind {
            case .table: _ = try await gateway.dropTable(name.name, ifExists: drop.ifExists)
            case .index: _ = try await gateway.dropIndex(name.name, ifExists: drop.ifExists)
            case .view: _ = try await gateway.dropView(name.name, ifExists: drop.ifExists)
            }
        }
    }

    /// TRUNCATE: every row of each table deleted on every shard, through the ordered write path.
    /// Inside a block the deletes are the block's steps; outside one they run in a block of their
    /// own, so that the tables are emptied together or not at all (within one shard group).
    func truncate(_ truncate: Truncate) async throws {
        var tables: [CatalogTable] = []
        for name in truncate.tables {
            tables.append(try await requireTable(name))
        }
        let open = await session.transaction
        try await gateway.inTransaction(open, idleTimeoutMillis: await session.settings.idleInTransactionTimeoutMillis) { transaction in
            for table in tables {
                let delete = ShardStore.Statement("DELETE FROM \(quoteIdentifier(table.name))")
                _ = try await gateway.writeAll(table: table.name, statements: [delete], transaction: transaction)
            }
        }
    }

    /// VACUUM and ANALYZE check that the tables exist and change nothing: a shard's SQLite file
    /// keeps no dead row versions for VACUUM to reclaim (each write commits in place), and
    /// SQLite's ANALYZE statistics would be one more thing replicas must agree on, for plans that
    /// shard-key lookups do not need.
    func vacuum(_ vacuum: Vacuum) async throws {
        for name in vacuum.tables {
            _ = try await requireTable(name)
        }
    }

    private func requireTable(_ name: Identifier) async throws -> CatalogTable {
        guard let table = try await gateway.table(named: name.name) else {
            throw SQLError(.undefinedTable, "relation \"\(name.name)\" does not exist", position: name.location.offset + 1)
        }
        return table
    }

    /// REINDEX rebuilds the indexes of a table, or one index, on every shard of the table, as an
    /// ordered write (each replica rebuilds the same index from the same rows).
    func reindex(_ reindex: Reindex) async throws {
        let name = reindex.name.name
        let catalog = try await gateway.catalog()
        let tableName: String
        if reindex.objectKind != .index, catalog.table(named: name) != nil {
            tableName = name
        } else if reindex.objectKind != .table, let index = catalog.index(named: name) {
            tableName = index.table
        } else {
            let (state, what): (SQLState, String) = switch reindex.objectKind {
            case .table: (.undefinedTable, "relation")
            case .index: (.undefinedObject, "index")
            default: (.undefinedObject, "table or index")
            }
            throw SQLError(state, "\(what) \"\(name)\" does not exist", position: reindex.name.location.offset + 1)
        }
        _ = try await gateway.writeAll(table: tableName, statements: [ShardStore.Statement(SQLiteRenderer.render(.reindex(reindex)))])
    }

    func alterTable(_ alter: AlterTable) async throws {
        switch alter.action {
        case .addColumn(let definition):
            for constraint in definition.constraints {
                switch constraint.kind {
                case .primaryKey, .unique:
                    throw SQLError(.featureNotSupported, "ALTER TABLE ADD COLUMN cannot add a PRIMARY KEY or UNIQUE column",
                                   position: constraint.location.offset + 1)
                default: break
                }
            }
            let affinity = definition.type?.affinity ?? .blob
            let column = CatalogColumn(
                name: definition.name.name, type: Self.columnType(definition.type, affinity: affinity),
                notNull: definition.constraints.contains { $0.kind == .notNull },
                declaredType: definition.type?.description ?? "",
                hasDefault: definition.constraints.contains { if case .defaultValue = $0.kind { true } else { false } })
            try Self.refuseTextDefault(definition, column: column)
            var checked = alter
            checked.action = .addColumn(try ColumnTypeChecks.adding(to: definition))
            _ = try await gateway.addColumn(column, to: alter.table.name, shardDDL: SQLiteRenderer.render(.alterTable(checked)))
        case .addPrimaryKey(let keyColumns, _):
            let table = try await requireTable(alter.table)
            _ = try await gateway.rekeyTable(try Self.keyedSpec(table.spec, primaryKey: keyColumns, at: alter.location))
        }
    }

    /// `spec` with the primary key `keyColumns`: its columns NOT NULL, the shard key kept when
    /// the primary key includes it (else the primary key becomes the shard key), and the shard
    /// DDL's CREATE TABLE given the PRIMARY KEY and NOT NULL clauses.
    static func keyedSpec(_ spec: CatalogTableSpec, primaryKey keyColumns: [IndexedColumn], at location: SourceLocation) throws -> CatalogTableSpec {
        guard spec.primaryKey.isEmpty else {
            throw SQLError(.init("42P16"), "multiple primary keys for table \"\(spec.name)\" are not allowed", position: location.offset + 1)
        }
        var keyed = spec
        var names: [String] = []
        for column in keyColumns {
            guard let index = keyed.columns.firstIndex(where: { $0.name == column.name.name }) else {
                throw SQLError(.undefinedColumn, "column \"\(column.name.name)\" of relation \"\(spec.name)\" does not exist",
                               position: column.name.location.offset + 1)
            }
            guard !names.contains(column.name.name) else {
                throw SQLError(.init("42701"), "column \"\(column.name.name)\" appears twice in primary key constraint",
                               position: column.name.location.offset + 1)
            }
            names.append(column.name.name)
            keyed.columns[index].notNull = true
        }
        try refuseByteaKey(names, of: spec.columns, as: "a primary key", at: location)
        keyed.primaryKey = names
        if spec.shardKey.isEmpty || !Set(spec.shardKey).isSubset(of: names) { keyed.shardKey = names }
        if let first = spec.shardDDL.first {
            guard case .createTable(var create) = try Parser.parseStatement(first) else {
                throw SQLError(.internalError, "the shard DDL of \"\(spec.name)\" does not start with its CREATE TABLE")
            }
            create.constraints.append(TableConstraint(.primaryKey(keyColumns.map { IndexedColumn($0.name, direction: $0.direction) })))
            for index in create.columns.indices where names.contains(create.columns[index].name.name)
                && !create.columns[index].constraints.contains(where: { $0.kind == .notNull }) {
                create.columns[index].constraints.append(ColumnConstraint(.notNull))
            }
            keyed.shardDDL[0] = SQLiteRenderer.render(.createTable(create))
        }
        return keyed
    }
}
