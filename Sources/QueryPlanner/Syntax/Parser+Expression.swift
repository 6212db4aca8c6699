/// Operator precedence, lowest first. This is SQLite's table (https://sqlite.org/lang_expr.html,
/// parse.y), because SQLite evaluates every statement on the shards and the corpus results are
/// SQLite's; PostgreSQL's `::` is added above everything. Where PostgreSQL differs (docs/sql.md):
/// `||` binds tighter than `*` here but looser than `+` there; `<` binds tighter than `=` here
/// but the same there; `a = b = c` and `a < b < c` chain left to right here and are errors there.
enum Precedence: Int, Comparable {
    case or = 1, and, not
    /// `= == <> != IS IN LIKE ILIKE BETWEEN ISNULL NOTNULL NOT NULL`
    case equality
    /// `< <= > >=`
    case comparison
    /// `& | << >>`
    case bitwise
    case additive
    case multiplicative
    /// `||`
    case concatenation
    /// prefix `- + ~`
    case unary
    /// postfix `::type`
    case cast

    /// One level up: the right operand of a left-associative operator binds tighter.
    var next: Precedence { Precedence(rawValue: rawValue + 1) ?? .cast }

    static func < (lhs: Precedence, rhs: Precedence) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Parser {
    static let binarySymbols: [String: (BinaryOperator, Precedence)] = [
        "=": (.equal, .equality), "==": (.equal, .equality), "<>": (.notEqual, .equality), "!=": (.notEqual, .equality),
        "<": (.less, .comparison), "<=": (.lessOrEqual, .comparison),
        ">": (.greater, .comparison), ">=": (.greaterOrEqual, .comparison),
        "&": (.bitwiseAnd, .bitwise), "|": (.bitwiseOr, .bitwise), "<<": (.shiftLeft, .bitwise), ">>": (.shiftRight, .bitwise),
        "+": (.add, .additive), "-": (.subtract, .additive),
        "*": (.multiply, .multiplicative), "/": (.divide, .multiplicative), "%": (.modulo, .multiplicative),
        "||": (.concatenate, .concatenation),
    ]

    /// An expression whose operators all bind at least as tightly as `minimum` (precedence climbing).
    /// Prefix operators take their operand at their own precedence, whatever `minimum` is, which is
    /// how SQLite's LALR grammar resolves `a = NOT b = c` (as `a = (NOT (b = c))`).
    mutating func expression(_ minimum: Precedence = .or) throws(SQLError) -> Expression {
        let entryDepth = depth
        defer { depth = entryDepth }
        try enterNesting()
        let start = current.location
        var left = try prefixExpression()
        try checkHeight(left, at: start)
        while true {
            let operatorLocation = current.location
            guard let combined = try infixExpression(after: left, minimum: minimum) else { return left }
            try checkHeight(combined, at: operatorLocation)
            left = combined
        }
    }

    private mutating func prefixExpression() throws(SQLError) -> Expression {
        let token = current
        let unary: (UnaryOperator, Precedence)
        switch token.kind {
        case .word("not"): unary = (.not, .not)
        case .symbol("-"):
            // SQLite reads -9223372036854775808 as the smallest integer, not as minus a real.
            if case .real = peek(1), sourceText(of: tokens[position + 1]) == "9223372036854775808" {
                advance()
                advance()
                return .literal(.integer(.min), at: token.location)
            }
            unary = (.negate, .unary)
        case .symbol("+"): unary = (.plus, .unary)
        case .symbol("~"): unary = (.bitwiseNot, .unary)
        default: return try primaryExpression()
        }
        advance()
        let operand = try expression(unary.1)
        return Expression(.unary(unary.0, operand), at: token.location)
    }

    /// The operator after `left` applied to it, or nil when the next token is no operator binding
    /// at least as tightly as `minimum`.
    private mutating func infixExpression(after left: Expression, minimum: Precedence) throws(SQLError) -> Expression? {
        let token = current
        switch token.kind {
        case .symbol("::"):
            advance()
            return Expression(.cast(left, try typeName()), at: token.location)
        case .symbol("["):
            // `array[i]`: PostgreSQL's subscript, over an array's text form at the gateway.
            advance()
            let index = try expression()
            try expectSymbol("]")
            return Expression(.function(FunctionCall(Identifier(Self.arrayElementFunctionName, at: token.location), .list([left, index]))),
                              at: token.location)
        case .word("collate"):
            advance()
            try collation()
            return left
        case .word("operator") where isSymbol("(", ahead: 1):
            // `OPERATOR(pg_catalog.~)`: psql spells its operators so that no search_path can
            // redirect them; the operator is the one written.
            let qualified = isWord("pg_catalog", ahead: 2) && isSymbol(".", ahead: 3)
            let symbolAhead = qualified ? 4 : 2
            guard case .symbol(let symbol) = peek(symbolAhead), isSymbol(")", ahead: symbolAhead + 1) else {
                throw syntaxError()
            }
            guard try precedence(ofOperator: symbol) >= minimum else { return nil }
            for _ in 0...(symbolAhead + 1) { advance() }
            return try binaryOperation(symbol, after: left, at: token.location)
        case .symbol(let symbol) where Self.regexSymbols[symbol] != nil:
            guard try precedence(ofOperator: symbol) >= minimum else { return nil }
            advance()
            return try binaryOperation(symbol, after: left, at: token.location)
        case .symbol(let symbol):
            guard let (binary, precedence) = Self.binarySymbols[symbol], precedence >= minimum else { return nil }
            advance()
            if binary == .equal, isWord("any") || isWord("some"), isSymbol("(", ahead: 1) {
                return try equalsAny(left, at: token.location)
            }
            let right = try expression(precedence.next)
            return Expression(.binary(binary, left, right), at: token.location)
        case .word("or"), .word("and"):
            let precedence: Precedence = token.kind == .word("or") ? .or : .and
            guard precedence >= minimum else { return nil }
            advance()
            let right = try expression(precedence.next)
            return Expression(.binary(precedence == .or ? .or : .and, left, right), at: token.location)
        case .word(let word) where minimum <= .equality:
            return try equalityLevelExpression(after: left, word: word)
        default:
            return nil
        }
    }

    /// PostgreSQL's POSIX regular-expression operators: (negated, case-insensitive). They bind at
    /// the comparison level, as PostgreSQL's other operators bind above `=`.
    static let regexSymbols: [String: (negated: Bool, caseInsensitive: Bool)] = [
        "~": (false, false), "~*": (false, true), "!~": (true, false), "!~*": (true, true),
    ]

    /// The function a regex operator becomes: evaluated at the gateway only (SQLite has no
    /// regular expressions of its own; the gateway registers it, and the planner never sends
    /// a statement using it to the shards).
    public static let regexFunctionName = "mesh_regex_match"

    /// The function `x = ANY(array)` becomes: PostgreSQL arrays reach SQLite as their text form
    /// (`{a,b}`), which the gateway searches (SQLite has no arrays).
    public static let arrayContainsFunctionName = "mesh_array_contains"
    /// The function `array[i]` becomes (1-based, NULL out of range, as in PostgreSQL).
    public static let arrayElementFunctionName = "mesh_array_element"

    /// `x = ANY (subquery)` is `x IN (subquery)`; `x = ANY (array)` tests membership.
    private mutating func equalsAny(_ left: Expression, at location: SourceLocation) throws(SQLError) -> Expression {
        advance()
        try expectSymbol("(")
        if atQueryStart() {
            let query = try select()
            try expectSymbol(")")
            return Expression(.inSubquery(left, query, negated: false), at: location)
        }
        let array = try expression()
        try expectSymbol(")")
        return Expression(.function(FunctionCall(Identifier(Self.arrayContainsFunctionName, at: location), .list([array, left]))), at: location)
    }

    /// `ARRAY(query)`: the query's one column as a PostgreSQL array in text form, `{a,b}`, built
    /// by group_concat over the query's rows in their order: `(SELECT '{' ||
    /// coalesce(group_concat(mesh_element, ','), '') || '}' FROM (query))`.
    private mutating func arrayConstructor() throws(SQLError) -> Expression {
        let start = try expectWord("array")
        try expectSymbol("(")
        var query = try select()
        try expectSymbol(")")
        guard query.body.compounds.isEmpty, case .select(var core) = query.body.first, core.items.count == 1,
              case .expression(let element, _) = core.items[0] else {
            throw SQLError(.featureNotSupported, "ARRAY(query) is supported for a query of one column without set operations",
                           position: position(of: start))
        }
        core.items = [.expression(element, alias: Identifier("mesh_element"))]
        query.body = SelectBody(.select(core))
        func call(_ name: String, _ arguments: [Expression]) -> Expression {
            Expression(.function(FunctionCall(Identifier(name), .list(arguments))), at: start)
        }
        let joined = call("coalesce", [call("group_concat", [.column("mesh_element"), .literal(.string(","))]), .literal(.string(""))])
        let text = Expression(.binary(.concatenate, Expression(.binary(.concatenate, .literal(.string("{")), joined)), .literal(.string("}"))))
        let outer = SelectCore(items: [.expression(text, alias: nil)],
                               from: FromClause(.subquery(query, alias: Identifier("mesh_array"), location: start)))
        return Expression(.subquery(Select(body: SelectBody(.select(outer)))), at: start)
    }

    /// How tightly operator `symbol` binds; an error for a symbol that is no binary operator.
    private func precedence(ofOperator symbol: String) throws(SQLError) -> Precedence {
        if Self.regexSymbols[symbol] != nil { return .comparison }
        guard let (_, precedence) = Self.binarySymbols[symbol] else { throw unsupported("operator \(symbol)") }
        return precedence
    }

    /// `left symbol right`, the operator already consumed.
    private mutating func binaryOperation(_ symbol: String, after left: Expression, at location: SourceLocation) throws(SQLError) -> Expression {
        let precedence = try precedence(ofOperator: symbol)
        let right = try expression(precedence.next)
        if let regex = Self.regexSymbols[symbol] {
            let flag = Expression.literal(.integer(regex.caseInsensitive ? 1 : 0), at: location)
            let match = Expression(.function(FunctionCall(Identifier(Self.regexFunctionName, at: location), .list([left, right, flag]))),
                                   at: location)
            return regex.negated ? Expression(.unary(.not, match), at: location) : match
        }
        guard let (binary, _) = Self.binarySymbols[symbol] else { throw unsupported("operator \(symbol)") }
        return Expression(.binary(binary, left, right), at: location)
    }

    /// `COLLATE name` after an expression: the collations that mean byte order (SQLite's BINARY,
    /// which every shard uses) are accepted and change nothing; any other is refused, since
    /// the shards could not honor it.
    private mutating func collation() throws(SQLError) {
        let token = current
        var name = try label()
        if name.name == "pg_catalog", consumeSymbol(".") { name = try label() }
        guard ["default", "C", "c", "POSIX", "posix", "binary"].contains(name.name) else {
            throw SQLError(.featureNotSupported, "collation \"\(name.name)\" is not supported: MeshDB compares text by bytes (COLLATE \"C\")",
                           position: position(of: token.location))
        }
    }

    /// The word operators at SQLite's `=` level: IS, ISNULL, NOTNULL, [NOT] IN / LIKE / ILIKE /
    /// BETWEEN / NULL.
    private mutating func equalityLevelExpression(after left: Expression, word: String) throws(SQLError) -> Expression? {
        let token = current
        switch word {
        case "is":
            advance()
            let negated = consumeWord("not")
            if consumeWord("null") { return Expression(.isNull(left, negated: negated), at: token.location) }
            // IS DISTINCT FROM is SQLite's IS NOT; IS NOT DISTINCT FROM is IS.
            let distinct = consumeWord("distinct")
            if distinct { try expectWord("from") }
            let right = try expression(Precedence.equality.next)
            let binary: BinaryOperator = negated != distinct ? .isNot : .is
            return Expression(.binary(binary, left, right), at: token.location)
        case "isnull", "notnull":
            advance()
            return Expression(.isNull(left, negated: word == "notnull"), at: token.location)
        case "not":
            guard case .word(let next) = peek(1), ["in", "like", "ilike", "between", "null"].contains(next) else { return nil }
            advance()
            return try negatableExpression(after: left, negated: true, at: token.location)
        case "in", "like", "ilike", "between":
            return try negatableExpression(after: left, negated: false, at: token.location)
        default:
            return nil
        }
    }

    private mutating func negatableExpression(after left: Expression, negated: Bool,
                                              at location: SourceLocation) throws(SQLError) -> Expression {
        let token = advance()
        switch token.kind {
        case .word("null"):
            return Expression(.isNull(left, negated: true), at: location)
        case .word("between"):
            // Lower bound at the `=` level (SQLite shifts `=` there), upper bound above it.
            let low = try expression(.equality)
            try expectWord("and")
            let high = try expression(Precedence.equality.next)
            return Expression(.between(left, low: low, high: high, negated: negated), at: location)
        case .word("like"), .word("ilike"):
            let pattern = try expression(Precedence.equality.next)
            let escape = consumeWord("escape") ? try expression(Precedence.equality.next) : nil
            return Expression(.like(left, pattern: pattern, escape: escape, caseInsensitive: token.kind == .word("ilike"),
                                    negated: negated), at: location)
        default:
            return try inExpression(after: left, negated: negated, at: location)
        }
    }

    /// `IN (list)`, `IN (query)`, or SQLite's `IN table`, which means `IN (SELECT * FROM table)`.
    private mutating func inExpression(after left: Expression, negated: Bool,
                                       at location: SourceLocation) throws(SQLError) -> Expression {
        guard consumeSymbol("(") else {
            let table = try identifier()
            let query = Select(body: SelectBody(.select(SelectCore(
                items: [.wildcard(table.location)], from: FromClause(.table(NamedTable(table))), at: table.location))),
                at: table.location)
            return Expression(.inSubquery(left, query, negated: negated), at: location)
        }
        if atQueryStart() {
            let query = try select()
            try expectSymbol(")")
            return Expression(.inSubquery(left, query, negated: negated), at: location)
        }
        var list: [Expression] = []
        if !isSymbol(")") {
            list = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.expression() }
        }
        try expectSymbol(")")
        return Expression(.inList(left, list, negated: negated), at: location)
    }

    // MARK: - Primary expressions

    private mutating func primaryExpression() throws(SQLError) -> Expression {
        let token = current
        let location = token.location
        switch token.kind {
        case .integer(let value): advance(); return .literal(.integer(value), at: location)
        case .real(let value): advance(); return .literal(.real(value), at: location)
        case .string(let value): advance(); return .literal(.string(value), at: location)
        case .blob(let value): advance(); return .literal(.blob(value), at: location)
        case .parameter(let number): return try parameter(number)
        case .symbol("("): return try parenthesized()
        case .quotedIdentifier: return try nameOrCall()
        case .word(let word):
            switch word {
            case "null": advance(); return .literal(.null, at: location)
            case "true", "false": advance(); return .literal(.boolean(word == "true"), at: location)
            case "current_timestamp", "localtimestamp": advance(); return Expression(.currentTime(.timestamp), at: location)
            case "now" where isSymbol("(", ahead: 1) && isSymbol(")", ahead: 2):
                // PostgreSQL's now() is CURRENT_TIMESTAMP (the time UTC, as the server's TimeZone is).
                advance(); advance(); advance()
                return Expression(.currentTime(.timestamp), at: location)
            case "current_date": advance(); return Expression(.currentTime(.date), at: location)
            case "current_time": advance(); return Expression(.currentTime(.time), at: location)
            case _ where ["current_user", "session_user", "current_role", "current_catalog"].contains(word) && !isSymbol("(", ahead: 1):
                // SQL's niladic functions, written without parentheses.
                advance()
                return Expression(.function(FunctionCall(Identifier(word, at: location), .list([]))), at: location)
            case "case": return try caseExpression()
            case "array" where isSymbol("(", ahead: 1) && atQueryStart(ahead: 2): return try arrayConstructor()
            case "cast": return try castExpression()
            case "exists":
                advance()
                try expectSymbol("(")
                let query = try select()
                try expectSymbol(")")
                return Expression(.exists(query), at: location)
            default:
                if isSymbol("(", ahead: 1), Keywords.callable.contains(word) { return try functionCall() }
                guard !Keywords.reserved.contains(word) else { throw syntaxError() }
                return try nameOrCall()
            }
        default:
            throw syntaxError()
        }
    }

    private mutating func parameter(_ written: Int?) throws(SQLError) -> Expression {
        let token = advance()
        let number = written ?? parameterCount + 1
        guard number <= limits.parameterNumberMax else {
            throw SQLError(.programLimitExceeded,
                           "parameter $\(number) exceeds parameter_number_max = \(limits.parameterNumberMax)",
                           position: position(of: token.location))
        }
        parameterCount = max(parameterCount, number)
        return Expression(.parameter(number), at: token.location)
    }

    /// `(expression)` or `(query)`.
    private mutating func parenthesized() throws(SQLError) -> Expression {
        let open = try expectSymbol("(")
        if atQueryStart() {
            let query = try select()
            try expectSymbol(")")
            return Expression(.subquery(query), at: open)
        }
        let inner = try expression()
        if isSymbol(",") { throw unsupported("a row value (a parenthesized list of values)") }
        try expectSymbol(")")
        return inner
    }

    /// `name`, `table.name` or `name(arguments)`.
    private mutating func nameOrCall() throws(SQLError) -> Expression {
        if isSymbol("(", ahead: 1) { return try functionCall() }
        let first = try identifier()
        guard consumeSymbol(".") else { return Expression(.column(ColumnReference(first)), at: first.location) }
        // `pg_catalog.version()`: PostgreSQL's built-in functions live in pg_catalog.
        if first.name == "pg_catalog", isSymbol("(", ahead: 1) { return try functionCall() }
        let column = try label()
        if isSymbol(".") { throw unsupported("a name qualified by a schema or database") }
        return Expression(.column(ColumnReference(table: first, column)), at: first.location)
    }

    /// `name()`, `name(*)`, `name([DISTINCT | ALL] argument, ...)`.
    private mutating func functionCall() throws(SQLError) -> Expression {
        let name = try label()
        try expectSymbol("(")
        var call = FunctionCall(name, .list([]))
        if consumeSymbol("*") {
            call.arguments = .star
        } else if !isSymbol(")") {
            call.distinct = consumeWord("distinct")
            if !call.distinct { _ = consumeWord("all") }
            call.arguments = .list(try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.expression() })
            if isWord("order") { throw unsupported("ORDER BY inside an aggregate call") }
        }
        try expectSymbol(")")
        // PostgreSQL's string_agg(x, separator) is SQLite's group_concat(x, separator), which
        // every SQLite has (string_agg only from 3.44).
        if call.name.name == "string_agg", case .list(let arguments) = call.arguments, arguments.count == 2 {
            call.name = Identifier("group_concat", at: name.location)
        }
        if isWord("filter") && isSymbol("(", ahead: 1) { throw unsupported("FILTER on an aggregate call") }
        if isWord("over") { throw unsupported("a window function (OVER)") }
        return Expression(.function(call), at: name.location)
    }

    /// `CASE [operand] WHEN condition THEN result ... [ELSE result] END`.
    private mutating func caseExpression() throws(SQLError) -> Expression {
        let start = try expectWord("case")
        let operand = isWord("when") ? nil : try expression()
        var branches: [CaseBranch] = []
        repeat {
            try expectWord("when")
            let condition = try expression()
            try expectWord("then")
            branches.append(CaseBranch(when: condition, then: try expression()))
        } while isWord("when")
        let elseResult = consumeWord("else") ? try expression() : nil
        try expectWord("end")
        return Expression(.caseWhen(operand: operand, branches: branches, elseResult: elseResult), at: start)
    }

    /// `CAST(expression AS type)`.
    private mutating func castExpression() throws(SQLError) -> Expression {
        let start = try expectWord("cast")
        try expectSymbol("(")
        let value = try expression()
        try expectWord("as")
        let type = try typeName()
        try expectSymbol(")")
        return Expression(.cast(value, type), at: start)
    }

    // MARK: - Types

    /// A type name as written, its words joined (`double precision`), with `(n)` or `(p, s)`.
    /// Only names with a known SQLite affinity are accepted.
    mutating func typeName() throws(SQLError) -> TypeName {
        if isWord("pg_catalog") && isSymbol(".", ahead: 1) {
            advance()
            advance()
        }
        let token = current
        guard case .word(let first) = token.kind else { throw syntaxError() }
        advance()
        var name = first
        switch first {
        case "double":
            try expectWord("precision")
            name = "double precision"
        case "character", "char":
            if consumeWord("varying") { name = "character varying" }
        case "timestamp":
            if consumeWord("without") {
                try expectWord("time")
                try expectWord("zone")
            } else if isWord("with") && isWord("time", ahead: 1) {
                throw unsupported("TIMESTAMP WITH TIME ZONE")
            }
        default:
            break
        }
        guard TypeName.affinities[name] != nil else {
            throw SQLError(.undefinedObject, "type \"\(name)\" does not exist", position: position(of: token.location))
        }
        var modifiers: [Int] = []
        if consumeSymbol("(") {
            modifiers = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.typeModifier() }
            try expectSymbol(")")
        }
        if consumeSymbol("[") {
            try expectSymbol("]")
            name += "[]"
        }
        return TypeName(name, modifiers: modifiers, at: token.location)
    }

    private mutating func typeModifier() throws(SQLError) -> Int {
        let negative = consumeSymbol("-")
        if !negative { _ = consumeSymbol("+") }
        guard case .integer(let value) = current.kind, value <= Int32.max else { throw syntaxError() }
        advance()
        return negative ? -Int(value) : Int(value)
    }
}
