/// CREATE, DROP and ALTER. Triggers, temporary tables and the other schema objects MeshDB does
/// not have are refused here with 0A000 naming the feature, so the planner never sees them.
extension Parser {
    mutating func create() throws(SQLError) -> Statement {
        let start = try expectWord("create")
        let token = current
        switch token.kind {
        case .word("table"):
            return .createTable(try createTable(at: start))
        case .word("unique"), .word("index"):
            return .createIndex(try createIndex(at: start))
        case .word("view"):
            return .createView(try createView(at: start))
        case .word("user"):
            advance()
            let name = try identifier()
            return .user(UserStatement(.create(password: try passwordClause()), name: name, at: start))
        case .word("temp"), .word("temporary"):
            advance()
            if isWord("view") { return .createView(try createView(temporary: true, at: start)) }
            if isWord("table") { throw unsupported("CREATE TEMPORARY TABLE") }
            throw syntaxError()
        case .word("or") where isWord("replace", ahead: 1):
            throw unsupported("CREATE OR REPLACE")
        case .word(let word) where ["trigger", "virtual", "schema", "database", "sequence", "function", "procedure",
                                    "type", "role", "user", "extension", "materialized", "domain", "rule",
                                    "unlogged"].contains(word):
            throw unsupported("CREATE \(word.uppercased())")
        default:
            throw syntaxError()
        }
    }

    private mutating func ifNotExists() throws(SQLError) -> Bool {
        guard isWord("if") else { return false }
        advance()
        try expectWord("not")
        try expectWord("exists")
        return true
    }

    // MARK: - Tables

    /// `TABLE [IF NOT EXISTS] name (element, ...) [SHARD BY (columns)] [SHARDS n]`.
    private mutating func createTable(at start: SourceLocation) throws(SQLError) -> CreateTable {
        try expectWord("table")
        let ifNotExists = try ifNotExists()
        let name = try identifier()
        if isWord("as") { throw unsupported("CREATE TABLE ... AS") }
        try expectSymbol("(")
        var table = CreateTable(ifNotExists: ifNotExists, name: name, columns: [], at: start)
        repeat {
            if Self.tableConstraintWords.contains(current.kind) {
                table.constraints.append(try tableConstraint())
            } else {
                table.columns.append(try columnDefinition())
            }
        } while consumeSymbol(",")
        try expectSymbol(")")
        try tableOptions(&table)
        return table
    }

    private static let tableConstraintWords: Set<Token.Kind> = [
        .word("constraint"), .word("primary"), .word("unique"), .word("check"), .word("foreign"),
    ]

    /// `SHARD BY (columns)` and `SHARDS n`, in either order, each at most once.
    private mutating func tableOptions(_ table: inout CreateTable) throws(SQLError) {
        while true {
            if table.shardBy == nil, isWord("shard"), isWord("by", ahead: 1) {
                advance()
                advance()
                table.shardBy = try parenthesizedIdentifiers()
            } else if table.shardCount == nil, consumeWord("shards") {
                let token = current
                guard case .integer(let count) = token.kind, count >= 1, count <= Int32.max else {
                    if case .integer = token.kind {
                        throw SQLError(.invalidParameterValue, "SHARDS must be a positive integer",
                                       position: position(of: token.location))
                    }
                    throw syntaxError()
                }
                advance()
                table.shardCount = Int(count)
            } else if table.storageParameters.isEmpty, isWord("with"), isSymbol("(", ahead: 1) {
                advance()
                table.storageParameters = try storageParameters()
            } else {
                if case .word(let word) = current.kind, ["without", "strict"].contains(word) {
                    throw unsupported("the table option \(word.uppercased())")
                }
                return
            }
        }
    }

    /// `(name [= value], ...)`: PostgreSQL's storage parameters, kept as text (`fillfactor=100`).
    private mutating func storageParameters() throws(SQLError) -> [String] {
        try expectSymbol("(")
        let parameters = try commaSeparated { (parser: inout Parser) throws(SQLError) -> String in
            var parameter = try parser.label().name
            if parser.isSymbol("."), case .word = parser.peek(1) {
                parser.advance()
                parameter += "." + (try parser.label().name)
            }
            guard parser.consumeSymbol("=") else { return parameter }
            let token = parser.current
            switch token.kind {
            case .word(let value), .string(let value): parameter += "=" + value
            case .integer(let value): parameter += "=" + String(value)
            case .real(let value): parameter += "=" + String(value)
            default: throw parser.syntaxError()
            }
            parser.advance()
            return parameter
        }
        try expectSymbol(")")
        return parameters
    }

    /// `name [type] [constraint ...]`.
    private mutating func columnDefinition() throws(SQLError) -> ColumnDefinition {
        let name = try identifier()
        var type: TypeName?
        if case .word(let word) = current.kind, !Keywords.reserved.contains(word), word != "generated" {
            type = try typeName()
        }
        var column = ColumnDefinition(name, type: type)
        while let constraint = try columnConstraint() { column.constraints.append(constraint) }
        return column
    }

    private mutating func columnConstraint() throws(SQLError) -> ColumnConstraint? {
        let start = current.location
        let name = consumeWord("constraint") ? try identifier() : nil
        let token = current
        let kind: ColumnConstraint.Kind
        switch token.kind {
        case .word("primary"):
            advance()
            try expectWord("key")
            let direction: SortDirection? = consumeWord("asc") ? .ascending : consumeWord("desc") ? .descending : nil
            if isWord("autoincrement") { throw unsupported("AUTOINCREMENT") }
            kind = .primaryKey(direction)
        case .word("not"):
            advance()
            try expectWord("null")
            kind = .notNull
        case .word("null"):
            advance()
            kind = .null
        case .word("unique"):
            advance()
            kind = .unique
        case .word("default"):
            advance()
            // Above the `=` level, so that `DEFAULT 0 NOT NULL` is a default and a constraint.
            kind = .defaultValue(try expression(Precedence.equality.next))
        case .word("check"):
            advance()
            kind = .check(try parenthesizedExpression())
        case .word("references"):
            throw unsupported("FOREIGN KEY (REFERENCES)")
        case .word("collate"):
            throw unsupported("COLLATE")
        case .word("generated"):
            throw unsupported("generated columns")
        default:
            if name != nil { throw syntaxError() }
            return nil
        }
        if isWord("on") && isWord("conflict", ahead: 1) { throw unsupported("ON CONFLICT in a constraint") }
        return ColumnConstraint(kind, name: name, at: start)
    }

    /// `[CONSTRAINT name] PRIMARY KEY (columns) | UNIQUE (columns) | CHECK (expression)`.
    private mutating func tableConstraint() throws(SQLError) -> TableConstraint {
        let start = current.location
        let name = consumeWord("constraint") ? try identifier() : nil
        let kind: TableConstraint.Kind
        switch current.kind {
        case .word("primary"):
            advance()
            try expectWord("key")
            kind = .primaryKey(try indexedColumns())
        case .word("unique"):
            advance()
            kind = .unique(try indexedColumns())
        case .word("check"):
            advance()
            kind = .check(try parenthesizedExpression())
        case .word("foreign"):
            throw unsupported("FOREIGN KEY")
        default:
            throw syntaxError()
        }
        if isWord("on") && isWord("conflict", ahead: 1) { throw unsupported("ON CONFLICT in a constraint") }
        return TableConstraint(kind, name: name, at: start)
    }

    private mutating func parenthesizedExpression() throws(SQLError) -> Expression {
        try expectSymbol("(")
        let value = try expression()
        try expectSymbol(")")
        return value
    }

    /// `(column [ASC | DESC], ...)`
    private mutating func indexedColumns() throws(SQLError) -> [IndexedColumn] {
        try expectSymbol("(")
        let columns = try commaSeparated { (parser: inout Parser) throws(SQLError) -> IndexedColumn in
            let name = try parser.identifier()
            if parser.isWord("collate") { throw parser.unsupported("COLLATE") }
            if parser.isSymbol("(") || parser.isSymbol(".") { throw parser.unsupported("an index on an expression") }
            let direction: SortDirection? = parser.consumeWord("asc") ? .ascending
                : parser.consumeWord("desc") ? .descending : nil
            return IndexedColumn(name, direction: direction)
        }
        try expectSymbol(")")
        return columns
    }

    // MARK: - Indexes and views

    /// `[UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns) [WHERE predicate]`.
    private mutating func createIndex(at start: SourceLocation) throws(SQLError) -> CreateIndex {
        let unique = consumeWord("unique")
        try expectWord("index")
        if isWord("concurrently") { throw unsupported("CREATE INDEX CONCURRENTLY") }
        let ifNotExists = try ifNotExists()
        let name = try identifier()
        try expectWord("on")
        let table = try identifier()
        if isWord("using") { throw unsupported("index access methods (USING)") }
        var index = CreateIndex(unique: unique, ifNotExists: ifNotExists, name: name, table: table,
                                columns: try indexedColumns(), at: start)
        if consumeWord("where") { index.whereClause = try expression() }
        return index
    }

    /// `[TEMP] VIEW [IF NOT EXISTS] name [(columns)] AS query`.
    private mutating func createView(temporary: Bool = false, at start: SourceLocation) throws(SQLError) -> CreateView {
        try expectWord("view")
        let ifNotExists = try ifNotExists()
        let name = try identifier()
        let columns = isSymbol("(") ? try parenthesizedIdentifiers() : []
        try expectWord("as")
        return CreateView(temporary: temporary, ifNotExists: ifNotExists, name: name, columns: columns,
                          query: try select(), at: start)
    }

    // MARK: - DROP and ALTER

    /// `DROP {TABLE | INDEX | VIEW} [IF EXISTS] name`.
    mutating func drop() throws(SQLError) -> Drop {
        let start = try expectWord("drop")
        let kinds: [String: SchemaObjectKind] = ["table": .table, "index": .index, "view": .view]
        guard case .word(let word) = current.kind, let kind = kinds[word] else {
            if case .word(let word) = current.kind, ["trigger", "schema", "database", "sequence", "function", "type",
                                                    "role", "user", "extension"].contains(word) {
                throw unsupported("DROP \(word.uppercased())")
            }
            throw syntaxError()
        }
        advance()
        var ifExists = false
        if consumeWord("if") {
            try expectWord("exists")
            ifExists = true
        }
        let names = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.identifier() }
        if isWord("cascade") { throw unsupported("DROP ... CASCADE") }
        _ = consumeWord("restrict")
        return Drop(kind, ifExists: ifExists, names: names, at: start)
    }

    /// `TRUNCATE [TABLE] [ONLY] name [*] [, ...] [CONTINUE IDENTITY | RESTART IDENTITY] [RESTRICT]`.
    mutating func truncate() throws(SQLError) -> Truncate {
        let start = try expectWord("truncate")
        _ = consumeWord("table")
        let tables = try commaSeparated { (parser: inout Parser) throws(SQLError) -> Identifier in
            _ = parser.consumeWord("only")
            let name = try parser.identifier()
            _ = parser.consumeSymbol("*")
            return name
        }
        if consumeWord("continue") || consumeWord("restart") { try expectWord("identity") }
        if isWord("cascade") { throw unsupported("TRUNCATE ... CASCADE") }
        _ = consumeWord("restrict")
        return Truncate(tables: tables, at: start)
    }

    /// `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table, ...]`, `VACUUM (option [value], ...)
    /// [table, ...]` and `ANALYZE [VERBOSE] [table, ...]`; a table's column list is refused.
    mutating func vacuum() throws(SQLError) -> Vacuum {
        let start = current.location
        let vacuums = consumeWord("vacuum")
        if !vacuums { try expectWord("analyze") }
        var analyzes = !vacuums
        if vacuums, consumeSymbol("(") {
            repeat {
                let option = try label().name
                analyzes = analyzes || option == "analyze"
                switch current.kind {
                case .word, .integer, .string: advance()
                default: break
                }
            } while consumeSymbol(",")
            try expectSymbol(")")
        } else {
            for option in ["full", "freeze", "verbose", "analyze"] where consumeWord(option) {
                analyzes = analyzes || option == "analyze"
            }
        }
        var tables: [Identifier] = []
        if case .end = current.kind {} else if !isSymbol(";") {
            tables = try commaSeparated { (parser: inout Parser) throws(SQLError) -> Identifier in
                let name = try parser.identifier()
                if parser.isSymbol("(") { throw parser.unsupported("ANALYZE of some columns") }
                return name
            }
        }
        return Vacuum(vacuums: vacuums, analyzes: analyzes, tables: tables, at: start)
    }

    /// `REINDEX [TABLE | INDEX] name`. PostgreSQL's SCHEMA, DATABASE and SYSTEM forms and a bare
    /// REINDEX of everything are refused.
    mutating func reindex() throws(SQLError) -> Reindex {
        let start = try expectWord("reindex")
        var kind: SchemaObjectKind?
        if consumeWord("table") {
            kind = .table
        } else if consumeWord("index") {
            kind = .index
        } else if case .word(let word) = current.kind, ["schema", "database", "system"].contains(word) {
            throw unsupported("REINDEX \(word.uppercased())")
        } else if isWord("concurrently") {
            throw unsupported("REINDEX CONCURRENTLY")
        }
        if case .end = current.kind { throw unsupported("REINDEX without a table or index name") }
        return Reindex(kind, name: try identifier(), at: start)
    }

    /// `ALTER TABLE name ADD [COLUMN] definition` or `ALTER TABLE name ADD [CONSTRAINT name] PRIMARY KEY (columns)`.
    mutating func alterTable() throws(SQLError) -> AlterTable {
        let start = try expectWord("alter")
        try expectWord("table")
        let table = try identifier()
        guard consumeWord("add") else {
            if case .word(let word) = current.kind { throw unsupported("ALTER TABLE ... \(word.uppercased())") }
            throw syntaxError()
        }
        if Self.tableConstraintWords.contains(current.kind) {
            let constraint = try tableConstraint()
            guard case .primaryKey(let columns) = constraint.kind else { throw unsupported("ALTER TABLE ... ADD CONSTRAINT other than PRIMARY KEY") }
            return AlterTable(table: table, action: .addPrimaryKey(columns, name: constraint.name), at: start)
        }
        _ = consumeWord("column")
        if isWord("if") { throw unsupported("ADD COLUMN IF NOT EXISTS") }
        return AlterTable(table: table, action: .addColumn(try columnDefinition()), at: start)
    }

    /// `ALTER USER name [WITH] PASSWORD 'p'` or `DROP USER [IF EXISTS] name`.
    mutating func userStatement() throws(SQLError) -> UserStatement {
        let start = current.location
        let drop = consumeWord("drop")
        if !drop { try expectWord("alter") }
        try expectWord("user")
        if drop {
            var ifExists = false
            if consumeWord("if") {
                try expectWord("exists")
                ifExists = true
            }
            return UserStatement(.drop(ifExists: ifExists), name: try identifier(), at: start)
        }
        let name = try identifier()
        return UserStatement(.alter(password: try passwordClause()), name: name, at: start)
    }

    /// `[WITH] PASSWORD 'p'`: the one user option MeshDB has (no roles, no privileges yet).
    private mutating func passwordClause() throws(SQLError) -> String {
        _ = consumeWord("with")
        guard consumeWord("password") else {
            if case .word(let word) = current.kind { throw unsupported("user option \(word.uppercased())") }
            throw syntaxError()
        }
        guard case .string(let password) = current.kind else { throw syntaxError() }
        advance()
        return password
    }
}
