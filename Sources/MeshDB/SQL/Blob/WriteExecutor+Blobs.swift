import QueryPlanner

/// The write side of out-of-line bytea values (`BlobReference`, docs/blobs.md). Every value the
/// gateway stores in a bytea column is NULL, a BLOB of at most blob_inline_max bytes, or the
/// reference to a larger value it has just stored in the chunk stores; and no shard statement
/// computes a bytea column's new value from anything but a bytea column. That keeps TEXT in a
/// bytea column a reference and nothing else, so no client can forge one.
extension WriteExecutor {
    /// The names of `table`'s bytea columns.
    static func byteaColumns(of table: CatalogTable) -> Set<String> {
        Set(table.spec.columns.filter(\.holdsOutOfLineValues).map(\.name))
    }

    /// Most bytes of values a row may keep inline: the row travels in one shard operation
    /// (operation_bytes_max = 128 KiB, PBFT's request limit) with its statement's SQL text around
    /// it: 120 KiB, room for a value at blob_inline_max and the row's other columns. A row above it
    /// moves its largest inline bytea values out of line until it fits, so a value at or below
    /// blob_inline_max leaves the row too when the row would not fit (several large values).
    static let rowBytesInlineMax = ShardOperation.Limits().operationBytesMax - 8 * 1024

    /// `rows` (the table's columns in order) with each bytea value in its stored form.
    func storedBytea(_ rows: [[SQLiteValue]], table: CatalogTable) async throws -> [[SQLiteValue]] {
        let positions = table.spec.columns.indices.filter { table.spec.columns[$0].holdsOutOfLineValues }
        guard !positions.isEmpty else { return rows }
        let inlineMax = await session.settings.blobInlineMax
        var rows = rows
        for row in rows.indices {
            for position in positions {
                rows[row][position] = try await storedBytea(rows[row][position], column: table.spec.columns[position].name, inlineMax: inlineMax)
            }
            while rows[row].reduce(0, { $0 + $1.encodedByteCount }) > Self.rowBytesInlineMax,
                  let largest = positions.max(by: { rows[row][$0].inlineBytes < rows[row][$1].inlineBytes }),
                  case .blob(let bytes) = rows[row][largest], !bytes.isEmpty {
                rows[row][largest] = .text(try await gateway.storeOutOfLine(bytes).text)
            }
        }
        return rows
    }

    /// A value bound for bytea column `column` as it is stored: text becomes its bytes as
    /// PostgreSQL reads bytea input, a value above `inlineMax` bytes goes to the chunk stores
    /// and its reference stays.
    func storedBytea(_ value: SQLiteValue, column: String, inlineMax: Int) async throws -> SQLiteValue {
        let bytes: [UInt8]
        switch value {
        case .null:
            return .null
        case .blob(let blob):
            bytes = blob
        case .text(let text):
            guard let decoded = ByteaText.bytes(text) else {
                throw SQLError(.init("22P02"), "\(ByteaText.invalidMessage) (column \(column))")
            }
            bytes = decoded
        case .integer, .real:
            throw SQLError(.init("42804"), "column \"\(column)\" is of type bytea but expression is of type \(value.isInteger ? "integer" : "double precision")")
        }
        guard bytes.count > min(inlineMax, Self.rowBytesInlineMax) else { return .blob(bytes) }
        return .text(try await gateway.storeOutOfLine(bytes).text)
    }

    /// The value an UPDATE assigns to bytea column `column`, as the shards may run it: NULL, a
    /// bytea column of the row (its stored value, reference or bytes, copied as it is), or a
    /// value computed here at the gateway and stored. Anything else reads the row on the shard
    /// and could put text in the column: 0A000.
    /// An inline value comes back as `.parameter(bindingAs)`, with the value in `bound` (as a
    /// hex literal it would take twice its size of the shard operation).
    func byteaAssignment(_ value: Expression, column: Identifier, table: CatalogTable, parameters: [SQLiteValue],
                         bindingAs parameter: Int, bound: inout [SQLiteValue]) async throws -> Expression {
        let names = Self.byteaColumns(of: table)
        switch value.kind {
        case .literal(.null):
            return value
        case .column(let reference) where names.contains(reference.column.name):
            return value
        default:
            break
        }
        if value.contains(intoSubqueries: false, where: { if case .column = $0.kind { true } else { false } }) {
            throw Self.computedBytea(column)
        }
        let evaluated = try await gatewayValue(value, parameters: parameters)
        let inlineMax = await session.settings.blobInlineMax
        let stored = try await storedBytea(evaluated, column: column.name, inlineMax: inlineMax)
        guard case .blob = stored else { return Self.literal(stored) }
        bound.append(stored)
        return Expression(.parameter(parameter), at: value.location)
    }

    /// ON CONFLICT DO UPDATE runs on the shards with the conflicting row at hand: its bytea
    /// assignments may take NULL, a bytea literal of at most `inlineMax` bytes — X'…', or text read
    /// as PostgreSQL reads bytea input ('\x4142'::bytea, '\x4142', 'AB'), sent as its bytes — or a
    /// bytea column (`excluded.body`). `assignments` come back with text literals made bytes.
    static func byteaConflictAssignments(_ assignments: [Assignment], table: CatalogTable, inlineMax: Int) throws -> [Assignment] {
        let names = byteaColumns(of: table)
        return try assignments.map { assignment in
            guard names.contains(assignment.column.name) else { return assignment }
            var text: String?
            switch assignment.value.kind {
            case .literal(.null): return assignment
            case .literal(.blob(let bytes)) where bytes.count <= inlineMax: return assignment
            case .column(let reference) where names.contains(reference.column.name): return assignment
            case .literal(.string(let literal)): text = literal
            case .cast(let operand, let type) where type.name == "bytea":
                if case .literal(.string(let literal)) = operand.kind { text = literal }
            default: break
            }
            guard let text else { throw computedBytea(assignment.column) }
            guard let bytes = ByteaText.bytes(text) else {
                throw SQLError(.init("22P02"), "\(ByteaText.invalidMessage) (column \(assignment.column.name))", position: assignment.value.location.offset + 1)
            }
            guard bytes.count <= inlineMax else { throw computedBytea(assignment.column) }
            return Assignment(assignment.column, Expression(.literal(.blob(bytes)), at: assignment.value.location))
        }
    }

    static func computedBytea(_ column: Identifier) -> SQLError {
        SQLError(.featureNotSupported,
                 "the new value of bytea column \(column.name) must be a value, a parameter or another bytea column: a bytea value may live out of line (above blob_inline_max), and the shards cannot compute one",
                 position: column.location.offset + 1)
    }

    /// `expression`, which reads no column, evaluated at the gateway (subqueries and volatile
    /// calls first, long literals bound as parameters so SQLite's statement limit does not apply).
    private func gatewayValue(_ expression: Expression, parameters: [SQLiteValue]) async throws -> SQLiteValue {
        let resolved = try await gatewayEvaluated(expression, parameters: parameters)
        let used = Traversal.parameterCount(Select(body: SelectBody(.values(Values([[resolved]])))))
        guard used <= parameters.count else { throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)") }
        let (bindable, literals) = Self.bindingLongLiterals(resolved, after: used)
        let scratch = try ScratchDatabase(bytesMax: await session.settings.workMemBytes)
        try scratch.install(try await session.postgresFunctions())
        return try scratch.evaluate("SELECT \(SQLiteRenderer.render(bindable))", Array(parameters.prefix(used)) + literals).rows.first?.first ?? .null
    }

    /// Literals longer than `literalBytesInlineMax` replaced by parameters numbered from
    /// `after` + 1, and their values: a multi-megabyte bytea literal (psycopg2 sends its
    /// parameters as literals) would not fit SQLite's statement limit as text.
    static func bindingLongLiterals(_ expression: Expression, after used: Int) -> (Expression, [SQLiteValue]) {
        var values: [SQLiteValue] = []
        // Top-down, so that a cast to bytea is seen before the string literal inside it.
        let rewritten = expression.replacing { node -> Expression? in
            let value: SQLiteValue
            switch node.kind {
            case .cast(let operand, let type) where type.name == "bytea":
                guard case .literal(.string(let text)) = operand.kind, text.utf8.count > literalBytesInlineMax,
                      let bytes = ByteaText.bytes(text) else { return nil }
                value = .blob(bytes)
            case .literal(.string(let text)) where text.utf8.count > literalBytesInlineMax:
                value = .text(text)
            case .literal(.blob(let bytes)) where bytes.count > literalBytesInlineMax:
                value = .blob(bytes)
            default:
                return nil
            }
            values.append(value)
            return Expression(.parameter(used + values.count), at: node.location)
        }
        return (rewritten, values)
    }

    /// EXPLAIN's line for a write to a table with bytea columns: where their large values go.
    func blobWriteLine(_ table: CatalogTable) async -> String? {
        let names = Self.byteaColumns(of: table).sorted()
        guard !names.isEmpty else { return nil }
        let options = ChunkTransfer.Options()
        return "  -> Blob store at gateway: \(names.joined(separator: ", ")) values above blob_inline_max = \(await session.settings.blobInlineMax) bytes"
            + " chunked into the chunk stores first (R = \(options.replicas), durable at W = f + 1 acks), the row keeping a reference"
    }

    /// Literals up to this many bytes stay in the SQL text.
    static let literalBytesInlineMax = 4_096

    /// `expression` with its uses of `table`'s bytea columns guarded (`BlobStrategy`): a WHERE
    /// clause or SET value computed over a reference fails instead of comparing its text.
    func guardedBytea(_ expression: Expression, table: CatalogTable) async -> Expression {
        SelectPlanner.guardingByteaColumns(expression, names: Self.byteaColumns(of: table), inlineMax: await session.settings.blobInlineMax)
    }

    /// RETURNING of a write to `table` (called `alias` in the statement), as the shards run it:
    /// `*` and `table.*` spelled out as the table's columns; a bytea column of the table named as
    /// it is left bare, and its position is returned in `fetched` (its stored value comes back, and
    /// `returnedRows` reads a reference's value at the gateway, as SELECT does); every other use
    /// of a column named like any bytea column guarded (`BlobStrategy`), so that no reference
    /// reaches the result any other way. Nothing is left to refuse once the write is done.
    func returning(_ items: [SelectItem], table: CatalogTable, alias: Identifier?) async throws -> (items: [SelectItem], fetched: [Int]) {
        guard !items.isEmpty else { return ([], []) }
        let own = Self.byteaColumns(of: table)
        // Subqueries may read other tables: their bytea columns are guarded too.
        let names = try await gateway.catalog().sortedTables.reduce(into: own) { $0.formUnion(Self.byteaColumns(of: $1)) }
        let inlineMax = await session.settings.blobInlineMax
        let name = (alias ?? Identifier(table.name)).name
        var expanded: [SelectItem] = []
        for item in items {
            switch item {
            case .wildcard:
                expanded += table.spec.columns.map { .expression(Expression(.column(ColumnReference(Identifier($0.name)))), alias: nil) }
            case .tableWildcard(let qualifier) where qualifier.name == name:
                expanded += table.spec.columns.map { .expression(Expression(.column(ColumnReference(table: qualifier, Identifier($0.name)))), alias: nil) }
            default:
                expanded.append(item)
            }
        }
        var fetched: [Int] = []
        let guarded = expanded.enumerated().map { position, item -> SelectItem in
            if case .expression(let expression, _) = item, case .column(let reference) = expression.kind,
               own.contains(reference.column.name), reference.table == nil || reference.table?.name == name {
                fetched.append(position)
                return item
            }
            return item.mappingExpression { SelectPlanner.guardingByteaColumns($0, names: names, inlineMax: inlineMax) }
        }
        return (guarded, fetched)
    }

    /// Outside a transaction block a write that spans shards is atomic per shard only, so a guard
    /// (`BlobStrategy`) failing on one shard's row would leave the other shards written. Such a
    /// write first reads, on every shard it reaches, what it will compute: its WHERE clause, and
    /// for the rows that match, `computed` (its SET values and RETURNING items), in one aggregate
    /// row per shard. A guard that fails there fails the statement before anything is written.
    /// A row that becomes out of line between this read and the write can still fail on its
    /// shard alone (docs/blobs.md).
    func checkGuardsBeforeWriting(_ statement: Statement, table: CatalogTable, alias: Identifier?, whereClause: Expression?,
                                  computed: [Expression], shards: [Int], parameters: [SQLiteValue]) async throws {
        guard shards.count > 1, await session.transaction == nil,
              SQLiteRenderer.render(statement).contains(BlobStrategy.guardMarker) else { return }
        let typeOf = { (expression: Expression) in Expression(.function(FunctionCall(Identifier("typeof"), .list([expression])))) }
        let items = [Expression(.function(FunctionCall(Identifier("count"), .star)))]
            + computed.map { Expression(.function(FunctionCall(Identifier("max"), .list([typeOf($0)])))) }
        let from = FromClause(.table(NamedTable(Identifier(table.name), alias: alias)))
        let check = Select(body: SelectBody(.select(SelectCore(items: items.map { .expression($0, alias: nil) }, from: from, whereClause: whereClause))))
        let used = Traversal.parameterCount(check)
        guard used <= parameters.count else { throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)") }
        let sql = SQLiteRenderer.render(check)
        let consistency = await session.settings.readConsistency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for shard in shards {
                group.addTask { _ = try await gateway.read(table, shard: UInt32(shard), sql: sql, parameters: Array(parameters.prefix(used)), consistency: consistency) }
            }
            try await group.waitForAll()
        }
    }

    /// The expressions of select items (`*` has none once `returning` spelled it out).
    static func expressions(of items: [SelectItem]) -> [Expression] {
        items.compactMap { if case .expression(let expression, _) = $0 { expression } else { nil } }
    }

    /// The rows a write returned with the values of the bytea columns at `fetched` read: a
    /// reference is replaced by the value it names, read from the chunk stores.
    func returnedRows(_ rows: [[SQLiteValue]], fetched: [Int]) async throws -> [[SQLiteValue]] {
        guard !fetched.isEmpty else { return rows }
        var rows = rows
        var analysis = BlobStrategy.Analysis()
        var bytesLeft = SelectExecutor.blobResultBytesMax
        for row in rows.indices {
            for position in fetched where position < rows[row].count {
                guard case .text(let text) = rows[row][position] else { continue }
                let value = try await gateway.byteaValue(storedAs: text, column: "", bytesLeft: bytesLeft, analysis: &analysis)
                bytesLeft -= value.count
                rows[row][position] = .blob(value)
            }
        }
        return rows
    }
}

extension SQLiteValue {
    fileprivate var isInteger: Bool {
        if case .integer = self { true } else { false }
    }

    /// Bytes of a BLOB kept in the row; 0 for anything else.
    fileprivate var inlineBytes: Int {
        if case .blob(let bytes) = self { bytes.count } else { 0 }
    }
}
