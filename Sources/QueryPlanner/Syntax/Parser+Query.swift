/// Queries: WITH, compound SELECTs, SELECT cores, FROM clauses, ORDER BY and LIMIT.
extension Parser {
    /// `[WITH ...] term [set-operator term]... [ORDER BY ...] [LIMIT ...] [OFFSET ...]`.
    mutating func select() throws(SQLError) -> Select {
        let entryDepth = depth
        defer { depth = entryDepth }
        try enterNesting()
        let start = current.location
        let commonTables = isWord("with") ? try commonTableExpressions() : []
        var query = Select(with: commonTables, body: try selectBody(), at: start)
        if consumeWord("order") {
            try expectWord("by")
            query.orderBy = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.orderingTerm() }
        }
        try limitAndOffset(&query)
        return query
    }

    /// `WITH name [(columns)] AS (query), ...`.
    mutating func commonTableExpressions() throws(SQLError) -> [CommonTableExpression] {
        try expectWord("with")
        if isWord("recursive") { throw unsupported("WITH RECURSIVE") }
        return try commaSeparated { (parser: inout Parser) throws(SQLError) in
            let name = try parser.identifier()
            let columns = parser.isSymbol("(") ? try parser.parenthesizedIdentifiers() : []
            try parser.expectWord("as")
            if parser.consumeWord("not") { try parser.expectWord("materialized") } else { _ = parser.consumeWord("materialized") }
            try parser.expectSymbol("(")
            let query = try parser.select()
            try parser.expectSymbol(")")
            return CommonTableExpression(name: name, columns: columns, query: query)
        }
    }

    private mutating func selectBody() throws(SQLError) -> SelectBody {
        var body = SelectBody(try queryTerm())
        while let (setOperator, location) = try setOperator() {
            guard body.compounds.count + 1 < limits.compoundSelectTermsMax else {
                throw SQLError(.statementTooComplex,
                               "statement too complex: a compound SELECT exceeds compound_select_terms_max = \(limits.compoundSelectTermsMax)",
                               position: position(of: location))
            }
            body.compounds.append(CompoundTerm(setOperator, try queryTerm(), at: location))
        }
        return body
    }

    private mutating func setOperator() throws(SQLError) -> (SetOperator, SourceLocation)? {
        let token = current
        switch token.kind {
        case .word("union"):
            advance()
            if consumeWord("all") { return (.unionAll, token.location) }
            _ = consumeWord("distinct")
            return (.union, token.location)
        case .word("intersect"), .word("except"):
            advance()
            if isWord("all") { throw unsupported("\(sourceText(of: token).uppercased()) ALL") }
            _ = consumeWord("distinct")
            return (token.kind == .word("intersect") ? .intersect : .except, token.location)
        default:
            return nil
        }
    }

    private mutating func queryTerm() throws(SQLError) -> QueryTerm {
        if isWord("values") { return .values(try values()) }
        if isSymbol("(") && atQueryStart(ahead: 1) {
            throw unsupported("a parenthesized query as an operand of UNION, INTERSECT or EXCEPT")
        }
        return .select(try selectCore())
    }

    /// `VALUES (a, b), (c, d)`: every row as long as the first.
    private mutating func values() throws(SQLError) -> Values {
        let start = try expectWord("values")
        let rows = try commaSeparated { (parser: inout Parser) throws(SQLError) -> [Expression] in
            try parser.expectSymbol("(")
            let row = try parser.commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.expression() }
            try parser.expectSymbol(")")
            return row
        }
        if let short = rows.firstIndex(where: { $0.count != rows[0].count }) {
            throw SQLError(.syntaxError, "VALUES lists must all be the same length",
                           position: position(of: rows[short][0].location))
        }
        return Values(rows, at: start)
    }

    private mutating func selectCore() throws(SQLError) -> SelectCore {
        let start = try expectWord("select")
        var core = SelectCore(items: [], at: start)
        if consumeWord("distinct") {
            if isWord("on") { throw unsupported("DISTINCT ON") }
            core.distinct = true
        } else {
            _ = consumeWord("all")
        }
        core.items = try selectItems()
        if consumeWord("from") { core.from = try fromClause() }
        if consumeWord("where") { core.whereClause = try expression() }
        if consumeWord("group") {
            try expectWord("by")
            core.groupBy = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.expression() }
        }
        if consumeWord("having") { core.having = try expression() }
        if isWord("window") { throw unsupported("WINDOW") }
        return core
    }

    /// A select list or a RETURNING list.
    mutating func selectItems() throws(SQLError) -> [SelectItem] {
        try commaSeparated { (parser: inout Parser) throws(SQLError) -> SelectItem in
            let token = parser.current
            if parser.consumeSymbol("*") { return .wildcard(token.location) }
            if parser.isSymbol(".", ahead: 1), parser.isSymbol("*", ahead: 2) {
                let table = try parser.identifier()
                parser.advance()
                parser.advance()
                return .tableWildcard(table)
            }
            let value = try parser.expression()
            return .expression(value, alias: try parser.optionalAlias())
        }
    }

    private mutating func orderingTerm() throws(SQLError) -> OrderingTerm {
        var term = OrderingTerm(try expression())
        if consumeWord("asc") { term.direction = .ascending } else if consumeWord("desc") { term.direction = .descending }
        if consumeWord("nulls") {
            if consumeWord("first") { term.nulls = .first } else { try expectWord("last"); term.nulls = .last }
        }
        return term
    }

    /// `LIMIT n [OFFSET m]`, `LIMIT m, n` (SQLite: the offset first), `OFFSET m [LIMIT n]`,
    /// `LIMIT ALL` (no limit).
    private mutating func limitAndOffset(_ query: inout Select) throws(SQLError) {
        var sawLimit = false
        var sawOffset = false
        while true {
            if !sawLimit, consumeWord("limit") {
                sawLimit = true
                if consumeWord("all") { continue }
                let first = try expression()
                if !sawOffset, consumeSymbol(",") {
                    sawOffset = true
                    query.offset = first
                    query.limit = try expression()
                } else {
                    query.limit = first
                }
            } else if !sawOffset, consumeWord("offset") {
                sawOffset = true
                query.offset = try expression()
                if !consumeWord("rows") { _ = consumeWord("row") }
            } else if isWord("for"), ["update", "share", "no", "key"].contains(where: { isWord($0, ahead: 1) }) {
                try lockingClause()
            } else {
                if isWord("fetch") { throw unsupported("FETCH FIRST") }
                return
            }
        }
    }

    /// `FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF table, ...] [NOWAIT | SKIP LOCKED]`,
    /// which ORMs send (SQLAlchemy's with_for_update, Django's select_for_update): accepted and
    /// dropped. Inside a transaction block a read already holds its shard until the block ends
    /// and the block is serializable (docs/wire.md, "Transactions"), which is what the lock asks
    /// for; outside one, PostgreSQL's lock lasts only the statement.
    private mutating func lockingClause() throws(SQLError) {
        try expectWord("for")
        if consumeWord("no") { try expectWord("key"); try expectWord("update") }
        else if consumeWord("key") { try expectWord("share") }
        else if !consumeWord("update") { try expectWord("share") }
        if consumeWord("of") {
            repeat {
                _ = try identifier()
                while consumeSymbol(".") { _ = try identifier() }
            } while consumeSymbol(",")
        }
        if !consumeWord("nowait"), consumeWord("skip") { try expectWord("locked") }
    }

    // MARK: - FROM

    mutating func fromClause() throws(SQLError) -> FromClause {
        var from = FromClause(try tableReference())
        while true {
            let token = current
            let kind: JoinKind
            switch token.kind {
            case .symbol(","):
                advance()
                from.joins.append(JoinClause(.comma, try tableReference(), at: token.location))
                continue
            case .word("join"):
                kind = .inner
            case .word("inner"):
                advance()
                kind = .inner
            case .word("left"):
                advance()
                _ = consumeWord("outer")
                kind = .left
            case .word("cross"):
                advance()
                kind = .cross
            case .word("natural"):
                throw unsupported("NATURAL JOIN")
            case .word("right"), .word("full"):
                throw unsupported("\(sourceText(of: token).uppercased()) JOIN")
            default:
                return from
            }
            try expectWord("join")
            var join = JoinClause(kind, try tableReference(), at: token.location)
            if kind != .cross {
                if consumeWord("on") {
                    join.constraint = .on(try expression())
                } else if consumeWord("using") {
                    join.constraint = .using(try parenthesizedIdentifiers())
                } else {
                    throw syntaxError()
                }
            }
            from.joins.append(join)
        }
    }

    /// `table [[AS] alias] [INDEXED BY index | NOT INDEXED]`, `(query) [[AS] alias]` or `(joins)`.
    private mutating func tableReference() throws(SQLError) -> TableReference {
        let token = current
        if consumeSymbol("(") {
            let entryDepth = depth
            defer { depth = entryDepth }
            try enterNesting()
            if atQueryStart() {
                let query = try select()
                try expectSymbol(")")
                return .subquery(query, alias: try optionalAlias(), location: token.location)
            }
            let nested = try fromClause()
            try expectSymbol(")")
            return .nested(nested, location: token.location)
        }
        var name = try identifier()
        var implicitAlias: Identifier?
        if consumeSymbol(".") {
            (name, implicitAlias) = try schemaQualified(schema: name, name: try label())
        }
        if isSymbol("(") {
            guard name.name == "generate_series" else { throw unsupported("a table-valued function") }
            return try generateSeries(at: name.location)
        }
        var table = NamedTable(name, alias: try optionalAlias() ?? implicitAlias)
        if consumeWord("indexed") {
            try expectWord("by")
            table.indexHint = .indexedBy(try identifier())
        } else if isWord("not") && isWord("indexed", ahead: 1) {
            advance()
            advance()
            table.indexHint = .notIndexed
        }
        return .table(table)
    }

    /// `schema.name` as the one name MeshDB's catalog knows it by: pg_catalog and public need no
    /// schema (their relations are the system relations and the user tables, whose names do not
    /// collide: user tables may not start with `pg_`); an information_schema view is named
    /// "information_schema.<name>" and keeps `<name>` as its alias, so that `tables.table_name`
    /// still resolves. Any other schema does not exist (3F000).
    mutating func schemaQualified(schema: Identifier, name: Identifier) throws(SQLError) -> (Identifier, alias: Identifier?) {
        if isSymbol(".") { throw unsupported("a name qualified by a database") }
        switch schema.name {
        case "pg_catalog", "public":
            return (name, nil)
        case "information_schema":
            return (Identifier("information_schema.\(name.name)", at: name.location), name)
        default:
            throw SQLError(.invalidSchemaName, "schema \"\(schema.name)\" does not exist", position: position(of: schema.location))
        }
    }

    /// The gateway function that stops a generate_series past `seriesRowsMax` rows.
    public static let seriesGuardFunctionName = "mesh_series_guard"
    /// Most rows one generate_series may produce.
    public static let seriesRowsMax: Int64 = 1_000_000

    /// `generate_series(start, stop) [AS] alias` in FROM, the integers from start to stop: a
    /// subquery over a recursive common table (SQLite has no generate_series of its own), whose
    /// one column is named like the alias, as PostgreSQL names a function's column.
    private mutating func generateSeries(at start: SourceLocation) throws(SQLError) -> TableReference {
        try expectSymbol("(")
        let low = try expression()
        try expectSymbol(",")
        let high = try expression()
        if isSymbol(",") { throw unsupported("generate_series with a step") }
        try expectSymbol(")")
        let alias = try optionalAlias() ?? Identifier("generate_series", at: start)
        let value = Expression.column("value")
        // The guard fails the statement past `seriesRowsMax` rows instead of looping on.
        let guardCall = Expression(.function(FunctionCall(Identifier(Self.seriesGuardFunctionName),
                                                          .list([Expression(.binary(.subtract, value, low))]))))
        let next = SelectCore(items: [.expression(Expression(.binary(.add, value, .literal(.integer(1)))), alias: nil)],
                              from: FromClause(.table(NamedTable(Identifier("mesh_series")))),
                              whereClause: Expression(.binary(.and, Expression(.binary(.less, value, high)), guardCall)))
        let series = Select(body: SelectBody(.select(SelectCore(items: [.expression(low, alias: nil)])),
                                             compounds: [CompoundTerm(.unionAll, .select(next))]))
        let query = Select(with: [CommonTableExpression(name: Identifier("mesh_series"), columns: [Identifier("value")], query: series,
                                                        recursive: true)],
                           body: SelectBody(.select(SelectCore(items: [.expression(value, alias: alias)],
                                                               from: FromClause(.table(NamedTable(Identifier("mesh_series"))))))))
        return .subquery(query, alias: alias, location: start)
    }
}
