import QueryPlanner

/// INSERT, UPDATE and DELETE across shards (DESIGN.md, "Write").
///
/// INSERT evaluates each row at the gateway first, in a scratch copy of the table (the shards'
/// own CREATE TABLE, WITHOUT ROWID: `scratchDDL`): expressions, random() and the clock, DEFAULTs,
/// affinities, NOT NULL and CHECK all apply as on the shards, and the row that results is the row
/// a shard stores (a rowid key's integer check is done at routing, `shard(of:keyPositions:in:)`).
/// Its shard key (or a fresh hidden row id) then routes it, and each shard receives its rows as
/// explicit values in one ordered write: every replica stores the same bytes.
///
/// UPDATE and DELETE run as written on each shard the WHERE clause can reach, with uncorrelated
/// subqueries and non-deterministic functions evaluated at the gateway first and sent as values.
/// A statement that spans shards is atomic per shard, not across them (transactions come with
/// the wire protocol).
struct WriteExecutor {
    let session: SQLSession

    var gateway: Gateway { session.gateway }

    // MARK: INSERT

    func insert(_ insert: Insert, parameters: [SQLiteValue]) async throws -> SQLResult {
        let catalog = try await gateway.catalog()
        guard let table = catalog.table(named: insert.table.name) else {
            if catalog.view(named: insert.table.name) != nil {
                throw SQLError(.featureNotSupported, "cannot insert into view \"\(insert.table.name)\"", position: insert.table.location.offset + 1)
            }
            throw SQLError(.undefinedTable, "relation \"\(insert.table.name)\" does not exist", position: insert.table.location.offset + 1)
        }
        guard insert.with.isEmpty else { throw SQLError(.featureNotSupported, "WITH before INSERT is not supported") }
        let allColumns = table.spec.columns.map(\.name)
        var targetColumns: [String] = []
        for column in insert.columns {
            guard allColumns.contains(column.name) else {
                throw SQLError(.undefinedColumn, "column \"\(column.name)\" of relation \"\(table.name)\" does not exist",
                               position: column.location.offset + 1)
            }
            guard !targetColumns.contains(column.name) else {
                throw SQLError(.init("42701"), "column \"\(column.name)\" specified more than once", position: column.location.offset + 1)
            }
            targetColumns.append(column.name)
        }
        var insert = insert
        if case .doUpdate(let assignments, let whereClause)? = insert.onConflict?.action {
            try Self.refuseShardKeyChange(assignments, table: table)
            let inlineMax = min(await session.settings.blobInlineMax, Self.rowBytesInlineMax)
            insert.onConflict?.action = .doUpdate(try Self.byteaConflictAssignments(assignments, table: table, inlineMax: inlineMax), whereClause: whereClause)
        }

        // 1. Evaluate the rows at the gateway, in a scratch copy of the table. The copy comes
        // from the gateway's pool, which empties it when it comes back; the rows of an
        // INSERT … SELECT are read before one is taken.
        try Self.refuseConnectionStateFunctions(in: insert.source)
        var selected: [[SQLiteValue]] = []
        if case .query(let select) = insert.source, !Self.isPlainValues(select) {
            selected = try await session.runSelect(select, parameters: parameters, analyze: false).output.rows
        }
        var stored: [[SQLiteValue]] = []
        let copy = try gateway.insertScratch.take(table: table.name, ddl: Self.scratchDDL(table))
        do {
            // Back to the pool as soon as the rows are evaluated; a copy that held many rows or
            // bytes is dropped instead (an in-memory database keeps its pages after DELETE).
            defer { gateway.insertScratch.giveBack(copy, reusable: ScratchTablePool.isSmall(stored)) }
            let scratch = copy.database
            let quotedTable = quoteIdentifier(table.name)
            let columnList = targetColumns.isEmpty ? "" : "(\(targetColumns.map(quoteIdentifier).joined(separator: ", ")))"
            func evaluate(_ valuesSQL: String, _ bound: [SQLiteValue]) throws {
                _ = try scratch.evaluate("INSERT INTO \(quotedTable) \(columnList) \(valuesSQL)", bound)
                stored += try scratch.evaluate("SELECT * FROM \(quotedTable)").rows
                _ = try scratch.evaluate("DELETE FROM \(quotedTable)")
            }
            switch insert.source {
            case .defaultValues:
                _ = try scratch.evaluate("INSERT INTO \(quotedTable) DEFAULT VALUES")
                stored = try scratch.evaluate("SELECT * FROM \(quotedTable)").rows
            case .query(let select):
                if Self.isPlainValues(select), case .values(let values) = select.body.first {
                    let count = targetColumns.isEmpty ? allColumns.count : targetColumns.count
                    for row in values.rows where row.count != count {
                        throw SQLError(.syntaxError, "INSERT has \(row.count) expressions but \(count) target columns",
                                       position: (row.first?.location.offset ?? 0) + 1)
                    }
                    // All rows in one scratch statement when its parameters fit SQLite's limit: per
                    // row, a 500-row COPY batch rebinds up to 2,500 parameters 500 times. ON CONFLICT
                    // and OR … resolutions decide row by row between rows of the statement, so those
                    // rows stay one per scratch statement (a duplicate key within the statement
                    // would otherwise fail in the scratch table).
                    let rowGroups = Self.evaluatesRowsTogether(insert)
                        && Traversal.parameterCount(select) <= ShardOperation.Limits().parametersPerStatementMax
                        ? [values.rows] : values.rows.map { [$0] }
                    for rows in rowGroups {
                        let used = Traversal.parameterCount(Select(body: SelectBody(.values(Values(rows)))))
                        guard used <= parameters.count else { throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)") }
                        var literals: [SQLiteValue] = []
                        let bindable = rows.map { row in
                            row.map { expression in
                                // In a one-row group, a value that is one literal is bound
                                // whatever its length, so that single-row INSERTs differing only
                                // in their values share one prepared statement; a literal and a
                                // parameter both have no affinity, and the column's applies to
                                // either when stored. (Not in a many-row group: `?119999` for
                                // each `1` would take its SQL past statement_bytes_max.)
                                if rows.count == 1, let value = KeyLiteralBinding.boundValue(expression) {
                                    literals.append(SQLiteValue(value))
                                    return Expression(.parameter(used + literals.count), at: expression.location)
                                }
                                let (bound, values) = Self.bindingLongLiterals(expression, after: used + literals.count)
                                literals += values
                                return bound
                            }
                        }
                        let group = Select(body: SelectBody(.values(Values(bindable))))
                        try evaluate(SQLiteRenderer.render(group), Array(parameters.prefix(used)) + literals)
                    }
                } else {
                    for row in selected {
                        guard !row.isEmpty else { continue }
                        try evaluate("VALUES (\((1...row.count).map { "?\($0)" }.joined(separator: ", ")))", row)
                    }
                }
            }
        }
        guard !stored.isEmpty else { return SQLResult(tag: "INSERT 0 0") }
        // Bytea values in their stored form: large ones are in the chunk stores from here on.
        stored = try await storedBytea(stored, table: table)

        // 2. Route each row: by its shard key, or by a fresh hidden row id.
        var columns = allColumns
        if table.spec.hasHiddenRowID {
            let ids = try await gateway.allocateRowIDs(table: table.name, count: stored.count)
            for index in stored.indices { stored[index].insert(.integer(ids[index]), at: 0) }
            columns.insert("rowid", at: 0)
        }
        if Self.evaluatesRowsTogether(insert), insert.returning.isEmpty {
            return try await insertTogether(stored, columns: columns, into: table)
        }
        var shardInsert = insert
        shardInsert.columns = columns.map { Identifier($0) }
        shardInsert.source = .query(Select(body: SelectBody(.values(Values([columns.indices.map { Expression(.parameter($0 + 1)) }])))))
        let returning = try await returning(insert.returning, table: table, alias: insert.alias)
        shardInsert.returning = returning.items
        if case .doUpdate(let assignments, let whereClause)? = insert.onConflict?.action {
            var guarded: [Assignment] = []
            for assignment in assignments {
                // A bytea target takes only what byteaConflictAssignments let through, as it is.
                let bytea = Self.byteaColumns(of: table).contains(assignment.column.name)
                guarded.append(Assignment(assignment.column, bytea ? assignment.value : await guardedBytea(assignment.value, table: table)))
            }
            shardInsert.onConflict?.action = .doUpdate(guarded, whereClause: await whereClause.asyncMap { await guardedBytea($0, table: table) })
        }
        let sql = SQLiteRenderer.render(.insert(shardInsert))
        var byShard: [UInt32: [ShardStore.Statement]] = [:]
        let keyPositions = table.spec.shardKey.compactMap { columns.firstIndex(of: $0) }
        for row in stored {
            byShard[try Self.shard(of: row, keyPositions: keyPositions, in: table), default: []].append(ShardStore.Statement(sql, row))
        }

        // 3. Each shard's rows in ordered writes within the operation limits, all shards at once.
        let results = try await gateway.write(table, byShard: byShard, transaction: await session.transaction)
        let changed = results.reduce(0) { $0 + $1.rowsChanged }
        let returned = try await returnedRows(results.flatMap(\.rows), fetched: returning.fetched)
        return SQLResult(tag: "INSERT 0 \(changed)", columns: results.first(where: { !$0.columns.isEmpty })?.columns ?? [], rows: returned)
    }

    /// Whether an INSERT's source is a VALUES list alone (evaluated in the scratch copy as
    /// written), not a query the gateway runs first.
    static func isPlainValues(_ select: Select) -> Bool {
        guard select.with.isEmpty, select.body.compounds.isEmpty, select.orderBy.isEmpty, select.limit == nil,
              case .values = select.body.first else { return false }
        return true
    }

    /// SQLite's functions that report the connection's own history (`changes()`,
    /// `total_changes()`, `last_insert_rowid()`): in the gateway's pooled scratch copy they would
    /// report earlier INSERTs of other sessions. PostgreSQL has none of them, and says so.
    static func refuseConnectionStateFunctions(in source: InsertSource) throws {
        guard case .query(let select) = source else { return }
        var found: Identifier?
        select.forEachExpression { node in
            if found == nil, case .function(let call) = node.kind, Self.connectionStateFunctions.contains(call.name.name) { found = call.name }
        }
        if let found {
            throw SQLError(.init("42883"), "function \(found.name)() does not exist", position: found.location.offset + 1)
        }
    }

    static let connectionStateFunctions: Set<String> = ["changes", "total_changes", "last_insert_rowid"]

    /// Whether the rows of `insert` may be evaluated, and sent to a shard, as one statement: not
    /// when ON CONFLICT or OR REPLACE/IGNORE/… decides between rows of the statement.
    static func evaluatesRowsTogether(_ insert: Insert) -> Bool {
        insert.onConflict == nil && insert.conflictResolution == nil
    }

    /// Routes evaluated rows (`columns` names their values, the hidden row id first where the
    /// table has one) and sends each shard's rows as multi-row INSERTs (`MultiRowInsert`).
    private func insertTogether(_ rows: [[SQLiteValue]], columns: [String], into table: CatalogTable) async throws -> SQLResult {
        var byShard: [UInt32: [[SQLiteValue]]] = [:]
        let keyPositions = table.spec.shardKey.compactMap { columns.firstIndex(of: $0) }
        for row in rows {
            byShard[try Self.shard(of: row, keyPositions: keyPositions, in: table), default: []].append(row)
        }
        let limits = gateway.operationLimits
        let statements = byShard.mapValues { MultiRowInsert.statements(into: table.name, columns: columns, rows: $0, limits: limits) }
        let results = try await gateway.write(table, byShard: statements, transaction: await session.transaction)
        return SQLResult(tag: "INSERT 0 \(results.reduce(0) { $0 + $1.rowsChanged })")
    }

    /// The shard of an evaluated row: by its hidden row id (its first value) or by its shard key.
    static func shard(of row: [SQLiteValue], keyPositions: [Int], in table: CatalogTable) throws -> UInt32 {
        if table.spec.hasHiddenRowID, case .integer(let id) = row[0] {
            return ShardRouting.shard(forRowID: id, shardCount: table.spec.shardCount)
        }
        let key = keyPositions.map { row[$0] }
        if !table.spec.primaryKey.isEmpty, let nullAt = key.firstIndex(of: .null) {
            throw SQLError(.notNullViolation,
                           "null value in column \"\(table.spec.shardKey[nullAt])\" of relation \"\(table.name)\" violates not-null constraint")
        }
        // The shards' rowid alias takes integers only, and the WITHOUT ROWID scratch copy
        // (`scratchDDL`) let 'abc' or 1.5 through: refused here, before any shard writes, as a
        // shard would refuse it (a multi-row INSERT must not commit on some shards only).
        if keyPositions.count == 1, Self.keyIsRowIDAlias(table), key.count == 1 {
            switch key[0] {
            case .integer: break
            case .text(let text): throw SQLError(.init("22P02"), "invalid input syntax for type integer: \"\(text)\"")
            case .real(let real): throw SQLError(.init("22P02"), "invalid input syntax for type integer: \"\(real)\"")
            case .blob, .null: throw SQLError(.init("42804"), "column \"\(table.spec.primaryKey[0])\" is of type integer but expression is of type bytea")
            }
        }
        return ShardRouting.shard(forKey: key, shardCount: table.spec.shardCount)
    }

    /// The scratch copy of a table: the shards' CREATE TABLE, WITHOUT ROWID when the table has a
    /// primary key. In a rowid table an INTEGER PRIMARY KEY is the rowid, and SQLite turns a NULL
    /// stored there into a fresh rowid (1 in an empty scratch table) even when it is declared NOT
    /// NULL; in a WITHOUT ROWID table it is an ordinary column and every key column is NOT NULL,
    /// so a NULL key fails with 23502 as a PostgreSQL primary key does. (The shards keep their
    /// rowid tables: only rows the gateway evaluated, with non-NULL keys, reach them.)
    /// Whether the shards keep the table's primary key as SQLite's rowid: one INTEGER column in
    /// a rowid table.
    static func keyIsRowIDAlias(_ table: CatalogTable) -> Bool {
        guard table.spec.primaryKey.count == 1, let column = table.spec.columns.first(where: { $0.name == table.spec.primaryKey[0] }),
              column.type.sqliteType == "INTEGER" else { return false }
        return !(table.spec.shardDDL.first?.uppercased().contains("WITHOUT ROWID") ?? false)
    }

    static func scratchDDL(_ table: CatalogTable) -> [String] {
        var ddl = table.spec.shardDDL.isEmpty ? [ShardRouting.createTableSQL(for: table.spec)] : table.spec.shardDDL
        guard !table.spec.primaryKey.isEmpty, let create = ddl.first, !create.uppercased().contains("WITHOUT ROWID") else { return ddl }
        if create.hasSuffix(")") {
            ddl[0] = create + " WITHOUT ROWID"
        } else if create.uppercased().hasSuffix("STRICT") {
            ddl[0] = create + ", WITHOUT ROWID"
        }
        return ddl
    }

    static func refuseShardKeyChange(_ assignments: [Assignment], table: CatalogTable) throws {
        for assignment in assignments where table.spec.shardKey.contains(assignment.column.name) {
            throw SQLError(.featureNotSupported,
                           "cannot change the shard key column \"\(assignment.column.name)\" of \"\(table.name)\": delete the row and insert it again",
                           position: assignment.column.location.offset + 1)
        }
    }

    // MARK: UPDATE and DELETE

    func update(_ update: Update, parameters: [SQLiteValue]) async throws -> SQLResult {
        let table = try await requireTable(update.table)
        guard update.with.isEmpty else { throw SQLError(.featureNotSupported, "WITH before UPDATE is not supported") }
        for assignment in update.assignments where table.spec.columns.first(where: { $0.name == assignment.column.name }) == nil {
            throw SQLError(.undefinedColumn, "column \"\(assignment.column.name)\" of relation \"\(table.name)\" does not exist",
                           position: assignment.column.location.offset + 1)
        }
        try Self.refuseShardKeyChange(update.assignments, table: table)
        var resolved = update
        let byteaNames = Self.byteaColumns(of: table)
        // Inline bytea values are bound after the statement's own parameters.
        let used = Traversal.parameterCount(Statement.update(update))
        guard used <= parameters.count else { throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)") }
        var parameters = Array(parameters.prefix(used))
        var bound: [SQLiteValue] = []
        for index in resolved.assignments.indices {
            let assignment = resolved.assignments[index]
            if byteaNames.contains(assignment.column.name) {
                resolved.assignments[index].value = try await byteaAssignment(assignment.value, column: assignment.column, table: table, parameters: parameters,
                                                                              bindingAs: parameters.count + bound.count + 1, bound: &bound)
            } else {
                resolved.assignments[index].value = await guardedBytea(try await gatewayEvaluated(assignment.value, parameters: parameters), table: table)
            }
        }
        resolved.whereClause = try await resolved.whereClause.asyncMap { await guardedBytea(try await gatewayEvaluated($0, parameters: parameters), table: table) }
        parameters += bound
        let returning = try await returning(resolved.returning, table: table, alias: update.alias)
        resolved.returning = returning.items
        let shards = try await targetShards(table, alias: update.alias, whereClause: resolved.whereClause, parameters: parameters)
        try await checkGuardsBeforeWriting(.update(resolved), table: table, alias: update.alias, whereClause: resolved.whereClause,
                                           computed: resolved.assignments.map(\.value) + Self.expressions(of: resolved.returning),
                                           shards: shards, parameters: parameters)
        let results = try await writeEach(.update(resolved), table: table, shards: shards, parameters: parameters)
        return SQLResult(tag: "UPDATE \(results.reduce(0) { $0 + $1.rowsChanged })", columns: results.first(where: { !$0.columns.isEmpty })?.columns ?? [],
                         rows: try await returnedRows(results.flatMap(\.rows), fetched: returning.fetched))
    }

    func delete(_ delete: Delete, parameters: [SQLiteValue]) async throws -> SQLResult {
        let table = try await requireTable(delete.table)
        guard delete.with.isEmpty else { throw SQLError(.featureNotSupported, "WITH before DELETE is not supported") }
        var resolved = delete
        resolved.whereClause = try await resolved.whereClause.asyncMap { await guardedBytea(try await gatewayEvaluated($0, parameters: parameters), table: table) }
        let returning = try await returning(resolved.returning, table: table, alias: delete.alias)
        resolved.returning = returning.items
        let shards = try await targetShards(table, alias: delete.alias, whereClause: resolved.whereClause, parameters: parameters)
        try await checkGuardsBeforeWriting(.delete(resolved), table: table, alias: delete.alias, whereClause: resolved.whereClause,
                                           computed: Self.expressions(of: resolved.returning), shards: shards, parameters: parameters)
        let results = try await writeEach(.delete(resolved), table: table, shards: shards, parameters: parameters)
        return SQLResult(tag: "DELETE \(results.reduce(0) { $0 + $1.rowsChanged })", columns: results.first(where: { !$0.columns.isEmpty })?.columns ?? [],
                         rows: try await returnedRows(results.flatMap(\.rows), fetched: returning.fetched))
    }

    private func requireTable(_ name: Identifier) async throws -> CatalogTable {
        let catalog = try await gateway.catalog()
        guard let table = catalog.table(named: name.name) else {
            let temporaryView = await session.temporaryViews[name.name]
            if catalog.view(named: name.name) != nil || temporaryView != nil {
                throw SQLError(.featureNotSupported, "cannot change view \"\(name.name)\"", position: name.location.offset + 1)
            }
            throw SQLError(.undefinedTable, "relation \"\(name.name)\" does not exist", position: name.location.offset + 1)
        }
        return table
    }

    /// The shards a WHERE clause can reach (every shard when it does not fix the shard key).
    private func targetShards(_ table: CatalogTable, alias: Identifier?, whereClause: Expression?, parameters: [SQLiteValue]) async throws -> [Int] {
        let snapshot = try await session.catalogSnapshot()
        guard let plannerTable = snapshot.table(named: table.name) else { return Array(0..<Int(table.spec.shardCount)) }
        let planner = SelectPlanner(catalog: snapshot, parameters: parameters.map(\.plannerValue))
        let use = SelectPlanner.TableUse(table: plannerTable, reference: NamedTable(Identifier(table.name), alias: alias))
        return planner.prunedShards(whereClause, use: use)
    }

    private func writeEach(_ statement: Statement, table: CatalogTable, shards: [Int], parameters: [SQLiteValue]) async throws -> [ShardStore.StatementResult] {
        let used = Traversal.parameterCount(statement)
        guard used <= parameters.count else { throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)") }
        // Key comparisons and SET literals bound (`KeyLiteralBinding`): UPDATEs that differ only
        // in their values share one prepared statement on every replica.
        let (sent, literals) = KeyLiteralBinding.bind(statement, keyColumns: Set(table.spec.primaryKey), parameterCount: used)
        let write = ShardStore.Statement(SQLiteRenderer.render(sent), Array(parameters.prefix(used)) + literals.map(SQLiteValue.init))
        return try await gateway.writeAll(table: table.name, shards: shards.map(UInt32.init), statements: [write],
                                          transaction: await session.transaction).flatMap { $0 }
    }

    /// `expression` with what must not run on the shards replaced by values computed at the
    /// gateway: uncorrelated subqueries (a scalar, an IN list, EXISTS as 1 or 0) and
    /// non-deterministic calls (random(), the clock), so every replica applies the same change.
    func gatewayEvaluated(_ expression: Expression, parameters: [SQLiteValue]) async throws -> Expression {
        // Collect first (the rewrite closure cannot await), then substitute.
        var subqueries: [Expression] = []
        var volatile: [Expression] = []
        var rowDependent: FunctionCall?
        expression.forEach(intoSubqueries: false) { node in
            switch node.kind {
            case .subquery, .exists, .inSubquery: subqueries.append(node)
            case .function(let call) where SelectPlanner.nondeterministicFunctions.contains(call.name.name): volatile.append(node)
            case .function(let call) where SelectPlanner.gatewayFunctions.contains(call.name.name):
                // A gateway function of constants is a value; one of the row's columns would
                // have to run on the shards, which do not have it.
                var readsColumns = false
                node.forEach(intoSubqueries: true) { if case .column = $0.kind { readsColumns = true } }
                if readsColumns { rowDependent = call } else { volatile.append(node) }
            case .currentTime: volatile.append(node)
            default: break
            }
        }
        if let rowDependent {
            let name = rowDependent.name.name == Parser.regexFunctionName ? "a regular expression match (~)" : "\(rowDependent.name.name)()"
            throw SQLError(.featureNotSupported, "\(name) over a row's columns is not supported in INSERT, UPDATE or DELETE: the shards cannot evaluate it",
                           position: rowDependent.name.location.offset + 1)
        }
        guard !subqueries.isEmpty || !volatile.isEmpty else { return expression }
        var replacements: [Expression: Expression] = [:]
        for node in subqueries {
            let select: Select
            switch node.kind {
            case .subquery(let query), .exists(let query), .inSubquery(_, let query, _): select = query
            default: continue
            }
            let rows: [[SQLiteValue]]
            do {
                rows = try await session.runSelect(select, parameters: parameters, analyze: false).output.rows
            } catch let error as SQLError where error.state == .undefinedColumn || error.state == .syntaxError {
                throw SQLError(.featureNotSupported,
                               "a subquery in UPDATE or DELETE must not refer to the outer table (correlated subqueries are not supported there): \(error.message)",
                               position: node.location.offset + 1)
            }
            switch node.kind {
            case .subquery:
                replacements[node] = Self.literal(rows.first?.first ?? .null)
            case .exists:
                replacements[node] = .literal(.integer(rows.isEmpty ? 0 : 1))
            case .inSubquery(let operand, _, let negated):
                replacements[node] = Expression(.inList(operand, rows.compactMap(\.first).map(Self.literal), negated: negated), at: node.location)
            default: break
            }
        }
        if !volatile.isEmpty {
            let scratch = try ScratchDatabase(bytesMax: 1 << 20)
            try scratch.install(try await session.postgresFunctions())
            for node in volatile {
                let value = try scratch.evaluate("SELECT \(SQLiteRenderer.render(node))").rows.first?.first ?? .null
                replacements[node] = Self.literal(value)
            }
        }
        return expression.rewritten(intoSubqueries: false) { node in replacements[node] ?? node }
    }

    static func literal(_ value: SQLiteValue) -> Expression {
        switch value {
        case .null: .literal(.null)
        case .integer(let integer): .literal(.integer(integer))
        case .real(let real): .literal(.real(real))
        case .text(let text): .literal(.string(text))
        case .blob(let bytes): .literal(.blob(bytes))
        }
    }

    // MARK: EXPLAIN

    func explain(_ statement: Statement, parameters: [SQLiteValue], analyze: Bool) async throws -> [String] {
        switch statement {
        case .insert(let insert):
            let table = try await requireTable(insert.table)
            return ["Insert on \(table.name): rows evaluated at the gateway, routed by "
                    + (table.spec.hasHiddenRowID ? "a hidden row id" : "shard key (\(table.spec.shardKey.joined(separator: ", ")))")
                    + ", one ordered write per shard of \(table.spec.shardCount)"] + (await blobWriteLine(table).map { [$0] } ?? [])
        case .update(let update):
            let table = try await requireTable(update.table)
            let shards = try await targetShards(table, alias: update.alias, whereClause: update.whereClause, parameters: parameters)
            return ["Update on \(table.name): \(Self.describe(shards, of: table))", "  Shard SQL: \(SQLiteRenderer.render(statement))"]
                + (await blobWriteLine(table).map { [$0] } ?? [])
        case .delete(let delete):
            let table = try await requireTable(delete.table)
            let shards = try await targetShards(table, alias: delete.alias, whereClause: delete.whereClause, parameters: parameters)
            return ["Delete on \(table.name): \(Self.describe(shards, of: table))", "  Shard SQL: \(SQLiteRenderer.render(statement))"]
        default:
            return []
        }
    }

    static func describe(_ shards: [Int], of table: CatalogTable) -> String {
        shards.count == Int(table.spec.shardCount) ? "all \(shards.count) shards"
            : "\(shards.count) of \(table.spec.shardCount) shards (\(shards.map(String.init).joined(separator: ", ")))"
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
