/// A recursive-descent parser for MeshDB's SQL dialect (docs/sql.md). Entry points are the static
/// `parseStatements`, `parseStatement` and `parseExpression`; every failure is an `SQLError` with
/// PostgreSQL's SQLSTATE and the 1-based character position of the offending token.
///
/// The parser's recursion (sub-expressions, subqueries, nested joins) and the height of every
/// expression it builds (`Expression.height`, which operator chains grow without recursion) are
/// held to `Limits.expressionDepthMax`, so the stack any recursive walk over a parsed tree needs
/// is bounded.
public struct Parser {
    public struct Limits: Sendable, Hashable {
        /// Longest statement text, in UTF-8 bytes (a shard's SQLite connection takes no more).
        public var statementBytesMax: Int
        /// Tallest expression tree and deepest nesting of subqueries and joins; SQLite refuses
        /// expression trees deeper than 1,000 too (SQLITE_MAX_EXPR_DEPTH).
        public var expressionDepthMax: Int
        /// Highest `$n`: SQLite's default SQLITE_MAX_VARIABLE_NUMBER.
        public var parameterNumberMax: Int
        /// Most SELECTs in one compound: SQLite's default SQLITE_MAX_COMPOUND_SELECT.
        public var compoundSelectTermsMax: Int

        public init(statementBytesMax: Int = 1 << 20, expressionDepthMax: Int = 1_000,
                    parameterNumberMax: Int = 32_766, compoundSelectTermsMax: Int = 500) {
            self.statementBytesMax = statementBytesMax
            self.expressionDepthMax = expressionDepthMax
            self.parameterNumberMax = parameterNumberMax
            self.compoundSelectTermsMax = compoundSelectTermsMax
        }
    }

    let text: String
    let limits: Limits
    let tokens: [Token]
    var position = 0
    /// How deep the parser's own functions have recursed, against `limits.expressionDepthMax`.
    var depth = 0
    /// False on the caller's thread: past `shallowRecursionMax` the parse starts again on a
    /// `LargeStack` thread.
    let onLargeStack: Bool
    /// Set when the parse stopped because it needs the large stack.
    var needsLargeStack = false
    /// Largest parameter number in the current statement: a bare `?` takes the next one.
    var parameterCount = 0

    /// Recursion the caller's stack is trusted with: 64 levels take about 640 KiB in a debug
    /// build and a tenth of that optimized.
    static let shallowRecursionMax = 64

    init(_ text: String, limits: Limits, onLargeStack: Bool = false, tokens: [Token]? = nil) throws(SQLError) {
        let byteCount = text.utf8.count
        guard byteCount <= limits.statementBytesMax else {
            throw SQLError(.programLimitExceeded,
                           "statement of \(byteCount) bytes exceeds statement_bytes_max = \(limits.statementBytesMax)")
        }
        self.text = text
        self.limits = limits
        self.onLargeStack = onLargeStack
        if let tokens {
            self.tokens = tokens
        } else {
            self.tokens = try Lexer.tokenize(text)
        }
    }

    /// Runs `parse` on the caller's stack and, if the statement nests deeper than that stack is
    /// trusted with, once more on a large one.
    static func parse<T: Sendable>(
        _ text: String, limits: Limits, _ parse: @escaping @Sendable (inout Parser) throws(SQLError) -> T
    ) throws(SQLError) -> T {
        var parser = try Parser(text, limits: limits)
        do {
            return try parse(&parser)
        } catch {
            guard parser.needsLargeStack else { throw error }
        }
        let tokens = parser.tokens
        let outcome = LargeStack.run { () -> Result<T, SQLError> in
            do throws(SQLError) {
                var parser = try Parser(text, limits: limits, onLargeStack: true, tokens: tokens)
                return .success(try parse(&parser))
            } catch {
                return .failure(error)
            }
        }
        guard let outcome else {
            throw SQLError(.statementTooComplex, "statement too complex: no thread with a large stack could be started for its nesting")
        }
        return try outcome.get()
    }

    /// Every statement of a script: statements separated by `;`, empty ones skipped.
    public static func parseStatements(_ text: String, limits: Limits = Limits()) throws(SQLError) -> [Statement] {
        try parse(text, limits: limits) { (parser: inout Parser) throws(SQLError) in
            var statements: [Statement] = []
            while true {
                while parser.consumeSymbol(";") {}
                if parser.atEnd { return statements }
                statements.append(try parser.statement())
                if parser.atEnd { return statements }
                try parser.expectSymbol(";")
            }
        }
    }

    /// Exactly one statement (a trailing `;` is allowed), as the extended query protocol's Parse
    /// message carries.
    public static func parseStatement(_ text: String, limits: Limits = Limits()) throws(SQLError) -> Statement {
        let statements = try parseStatements(text, limits: limits)
        guard statements.count == 1 else {
            throw SQLError(.syntaxError, statements.isEmpty
                ? "empty statement: there is no SQL to run"
                : "cannot insert multiple commands into a prepared statement")
        }
        return statements[0]
    }

    /// One expression and nothing else: for defaults, tests and tools.
    public static func parseExpression(_ text: String, limits: Limits = Limits()) throws(SQLError) -> Expression {
        try parse(text, limits: limits) { (parser: inout Parser) throws(SQLError) in
            let expression = try parser.expression()
            guard parser.atEnd else { throw parser.syntaxError() }
            return expression
        }
    }

    // MARK: - Statements

    mutating func statement() throws(SQLError) -> Statement {
        parameterCount = 0
        let token = current
        guard case .word(let word) = token.kind else { throw syntaxError() }
        switch word {
        case "select", "values": return .select(try select())
        case "with": return try statementWithCommonTables()
        case "insert", "replace": return .insert(try insert())
        case "update": return .update(try update())
        case "delete": return .delete(try delete())
        case "create": return try create()
        case "drop" where isWord("user", ahead: 1): return .user(try userStatement())
        case "alter" where isWord("user", ahead: 1): return .user(try userStatement())
        case "drop": return .drop(try drop())
        case "reindex": return .reindex(try reindex())
        case "alter": return .alterTable(try alterTable())
        case "set": return .set(try setVariable())
        case "reset": return .set(try resetVariable())
        case "show": return .show(try show())
        case "explain": return .explain(try explain())
        case "begin", "start", "commit", "end", "rollback", "abort": return .transaction(try transaction())
        case "truncate": return .truncate(try truncate())
        case "vacuum", "analyze": return .vacuum(try vacuum())
        case "deallocate", "discard", "close", "unlisten": return .session(try sessionCommand())
        case "pragma", "attach", "detach", "savepoint", "release",
             "copy", "grant", "revoke", "listen", "notify", "prepare", "execute",
             "declare", "fetch", "move", "lock", "comment", "cluster", "checkpoint", "call", "do":
            throw unsupported(word.uppercased())
        default:
            throw syntaxError()
        }
    }

    /// `WITH ...` followed by the statement the common tables are for.
    private mutating func statementWithCommonTables() throws(SQLError) -> Statement {
        let start = current.location
        let commonTables = try commonTableExpressions()
        let statement: Statement
        switch current.kind {
        case .word("select"), .word("values"): statement = .select(try select())
        case .word("insert"), .word("replace"): statement = .insert(try insert())
        case .word("update"): statement = .update(try update())
        case .word("delete"): statement = .delete(try delete())
        default: throw syntaxError()
        }
        switch statement {
        case .select(var node): node.with = commonTables; node.location = start; return .select(node)
        case .insert(var node): node.with = commonTables; node.location = start; return .insert(node)
        case .update(var node): node.with = commonTables; node.location = start; return .update(node)
        case .delete(var node): node.with = commonTables; node.location = start; return .delete(node)
        default: preconditionFailure("only queries and data changes take a WITH clause")
        }
    }

    private mutating func explain() throws(SQLError) -> Explain {
        let start = try expectWord("explain")
        let analyze = consumeWord("analyze")
        _ = consumeWord("verbose")
        if isWord("explain") { throw syntaxError() }
        return Explain(analyze: analyze, statement: try statement(), at: start)
    }

    private mutating func transaction() throws(SQLError) -> TransactionStatement {
        let token = advance()
        let kind: TransactionStatement.Kind
        switch token.kind {
        case .word("begin"):
            kind = .begin
            if !consumeWord("work") { _ = consumeWord("transaction") }
        case .word("start"):
            kind = .begin
            try expectWord("transaction")
        case .word("commit"), .word("end"):
            kind = .commit
            if !consumeWord("work") { _ = consumeWord("transaction") }
        default:
            kind = .rollback
            if !consumeWord("work") { _ = consumeWord("transaction") }
            if isWord("to") { throw unsupported("ROLLBACK TO SAVEPOINT") }
        }
        if !atEnd, !isSymbol(";") {
            guard case .word = current.kind else { throw syntaxError() }
            throw unsupported("transaction modes (isolation level, read only, deferrable)")
        }
        return TransactionStatement(kind, at: token.location)
    }

    // MARK: - Session settings

    /// `SET [SESSION] name {= | TO} {DEFAULT | value [, ...]}`, `SET TIME ZONE value`.
    private mutating func setVariable() throws(SQLError) -> SetVariable {
        let start = try expectWord("set")
        if isWord("local") { throw unsupported("SET LOCAL") }
        _ = consumeWord("session")
        if consumeWord("time") {
            try expectWord("zone")
            let value: SettingValue = consumeWord("local") || consumeWord("default") ? .defaultValue : .values([try settingValue()])
            return SetVariable(name: "timezone", value: value, at: start)
        }
        let name = try settingName()
        if !consumeWord("to") { try expectSymbol("=") }
        if consumeWord("default") { return SetVariable(name: name, value: .defaultValue, at: start) }
        var values = [try settingValue()]
        while consumeSymbol(",") { values.append(try settingValue()) }
        return SetVariable(name: name, value: .values(values), at: start)
    }

    /// `RESET name` is `SET name = DEFAULT`.
    /// DEALLOCATE [PREPARE] name | ALL; DISCARD ALL | PLANS | SEQUENCES | TEMP[ORARY];
    /// CLOSE name | ALL; UNLISTEN channel | *.
    private mutating func sessionCommand() throws(SQLError) -> SessionCommand {
        let start = current.location
        if consumeWord("deallocate") {
            _ = consumeWord("prepare")
            return SessionCommand(.deallocate(consumeWord("all") ? nil : try identifier()), at: start)
        }
        if consumeWord("discard") {
            for target in [SessionCommand.DiscardTarget.all, .plans, .sequences] where consumeWord(target.rawValue.lowercased()) {
                return SessionCommand(.discard(target), at: start)
            }
            if consumeWord("temp") || consumeWord("temporary") { return SessionCommand(.discard(.temporary), at: start) }
            throw syntaxError()
        }
        if consumeWord("close") {
            return SessionCommand(.close(consumeWord("all") ? nil : try identifier()), at: start)
        }
        try expectWord("unlisten")
        return SessionCommand(.unlisten(consumeSymbol("*") ? nil : try identifier()), at: start)
    }

    private mutating func resetVariable() throws(SQLError) -> SetVariable {
        let start = try expectWord("reset")
        return SetVariable(name: try settingName(), value: .defaultValue, at: start)
    }

    /// `SHOW name`, `SHOW ALL`, and the two multi-word names drivers send.
    private mutating func show() throws(SQLError) -> Show {
        let start = try expectWord("show")
        if consumeWord("transaction") {
            try expectWord("isolation")
            try expectWord("level")
            return Show(name: "transaction_isolation", at: start)
        }
        if consumeWord("time") {
            try expectWord("zone")
            return Show(name: "timezone", at: start)
        }
        return Show(name: try settingName(), at: start)
    }

    /// A dotted name (`mesh.read_consistency`); any word, reserved or not, may be a part.
    private mutating func settingName() throws(SQLError) -> String {
        var parts = [try settingNamePart()]
        while consumeSymbol(".") { parts.append(try settingNamePart()) }
        return parts.joined(separator: ".")
    }

    private mutating func settingNamePart() throws(SQLError) -> String {
        switch current.kind {
        case .word(let word): advance(); return word
        case .quotedIdentifier(let name): advance(); return name
        default: throw syntaxError()
        }
    }

    /// A setting's value as text: a word, a string, a quoted name or a signed number as written.
    private mutating func settingValue() throws(SQLError) -> String {
        let token = current
        switch token.kind {
        case .word(let word): advance(); return word
        case .string(let value), .quotedIdentifier(let value): advance(); return value
        case .integer, .real: advance(); return sourceText(of: token)
        case .symbol("-"), .symbol("+"):
            advance()
            let number = current
            switch number.kind {
            case .integer, .real:
                advance()
                return (token.kind == .symbol("-") ? "-" : "") + sourceText(of: number)
            default: throw syntaxError()
            }
        default: throw syntaxError()
        }
    }
}
