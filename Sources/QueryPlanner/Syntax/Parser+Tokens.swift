/// Token-level helpers shared by every part of the parser: looking at, consuming and expecting
/// tokens, names, nesting and errors.
extension Parser {
    var current: Token { tokens[position] }
    var atEnd: Bool {
        if case .end = current.kind { true } else { false }
    }

    /// The token `ahead` places after the current one (`.end` past the end).
    func peek(_ ahead: Int) -> Token.Kind {
        let index = position + ahead
        return index < tokens.count ? tokens[index].kind : .end
    }

    @discardableResult
    mutating func advance() -> Token {
        let token = tokens[position]
        if position + 1 < tokens.count { position += 1 }
        return token
    }

    func isWord(_ word: String, ahead: Int = 0) -> Bool {
        if case .word(let found) = peek(ahead) { found == word } else { false }
    }

    func isSymbol(_ symbol: String, ahead: Int = 0) -> Bool {
        if case .symbol(let found) = peek(ahead) { found == symbol } else { false }
    }

    mutating func consumeWord(_ word: String) -> Bool {
        guard isWord(word) else { return false }
        advance()
        return true
    }

    mutating func consumeSymbol(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    /// The location of the expected word, or a syntax error at whatever is there instead.
    @discardableResult
    mutating func expectWord(_ word: String) throws(SQLError) -> SourceLocation {
        guard isWord(word) else { throw syntaxError() }
        return advance().location
    }

    @discardableResult
    mutating func expectSymbol(_ symbol: String) throws(SQLError) -> SourceLocation {
        guard isSymbol(symbol) else { throw syntaxError() }
        return advance().location
    }

    /// True when the current token starts a query: `SELECT`, `VALUES` or `WITH`.
    func atQueryStart(ahead: Int = 0) -> Bool {
        isWord("select", ahead: ahead) || isWord("values", ahead: ahead) || isWord("with", ahead: ahead)
    }

    // MARK: - Names

    /// A name: an unreserved word or a quoted identifier.
    mutating func identifier() throws(SQLError) -> Identifier {
        let token = current
        switch token.kind {
        case .word(let word) where !Keywords.reserved.contains(word):
            advance()
            return Identifier(word, at: token.location)
        case .quotedIdentifier(let name):
            advance()
            return Identifier(name, at: token.location)
        default:
            throw syntaxError()
        }
    }

    /// A name where any word may stand, reserved or not (after AS, after a dot).
    mutating func label() throws(SQLError) -> Identifier {
        let token = current
        if case .word(let word) = token.kind {
            advance()
            return Identifier(word, at: token.location)
        }
        return try identifier()
    }

    /// `[AS] alias`, where the alias without AS must not be a reserved word (`FROM t WHERE`).
    mutating func optionalAlias() throws(SQLError) -> Identifier? {
        if consumeWord("as") { return try label() }
        switch current.kind {
        case .word(let word) where !Keywords.reserved.contains(word): return try identifier()
        case .quotedIdentifier: return try identifier()
        default: return nil
        }
    }

    /// `(name, ...)`
    mutating func parenthesizedIdentifiers() throws(SQLError) -> [Identifier] {
        try expectSymbol("(")
        let names = try commaSeparated { (parser: inout Parser) throws(SQLError) in try parser.identifier() }
        try expectSymbol(")")
        return names
    }

    /// One or more `element`s separated by commas.
    mutating func commaSeparated<Element>(
        _ element: (inout Parser) throws(SQLError) -> Element
    ) throws(SQLError) -> [Element] {
        var elements = [try element(&self)]
        while consumeSymbol(",") { elements.append(try element(&self)) }
        return elements
    }

    // MARK: - Nesting

    /// Counts one level of recursion; refuses to go deeper than the limit, and stops the parse
    /// when it outgrows the caller's stack (see `Parser.parse`). The caller restores `depth`.
    mutating func enterNesting() throws(SQLError) {
        depth += 1
        guard depth <= limits.expressionDepthMax else { throw tooComplex(at: current.location) }
        if depth > Self.shallowRecursionMax && !onLargeStack {
            needsLargeStack = true
            throw SQLError(.statementTooComplex, "statement nested too deeply for the caller's stack")
        }
    }

    /// Refuses a tree taller than the limit: operator chains (`a + b + c ...`) grow trees without
    /// recursing, so height is checked where they grow.
    func checkHeight(_ expression: Expression, at location: SourceLocation) throws(SQLError) {
        guard expression.height <= limits.expressionDepthMax else { throw tooComplex(at: location) }
    }

    func tooComplex(at location: SourceLocation) -> SQLError {
        SQLError(.statementTooComplex,
                 "statement too complex: nesting exceeds expression_depth_max = \(limits.expressionDepthMax)",
                 position: position(of: location))
    }

    // MARK: - Errors

    /// PostgreSQL's "syntax error at or near" the current token, or "at end of input".
    func syntaxError() -> SQLError {
        let token = current
        guard token.kind != .end else {
            return SQLError(.syntaxError, "syntax error at end of input", position: position(of: token.location))
        }
        return SQLError(.syntaxError, "syntax error at or near \"\(sourceText(of: token))\"",
                        position: position(of: token.location))
    }

    /// A feature MeshDB parses far enough to name but does not run (0A000), at the current token.
    func unsupported(_ feature: String) -> SQLError {
        SQLError(.featureNotSupported, "\(feature) is not supported", position: position(of: current.location))
    }

    func position(of location: SourceLocation) -> Int { location.characterPosition(in: text) }

    func sourceText(of token: Token) -> String {
        let bytes = text.utf8
        let start = bytes.index(bytes.startIndex, offsetBy: token.start)
        let end = bytes.index(bytes.startIndex, offsetBy: token.end)
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

enum Keywords {
    /// Words that cannot be an unquoted name or an alias without AS: PostgreSQL's reserved words,
    /// plus the few more this grammar needs to tell an alias from the next clause (`FROM t1
    /// INDEXED BY i`, `SELECT a ISNULL`). Any of them is still a name when double-quoted.
    static let reserved: Set<String> = [
        "all", "and", "as", "asc", "between", "case", "cast", "check", "collate", "constraint", "create",
        "cross", "current_date", "current_time", "current_timestamp", "default", "desc", "distinct", "do",
        "else", "end", "except", "exists", "false", "fetch", "foreign", "from", "full", "group", "having",
        "ilike", "in", "indexed", "inner", "intersect", "into", "is", "isnull", "join", "left", "like", "limit",
        "natural", "not", "notnull", "null", "offset", "on", "or", "order", "outer", "primary", "references",
        "returning", "right", "select", "set", "table", "then", "to", "true", "union", "unique", "using",
        "values", "when", "where", "window", "with",
    ]

    /// Reserved words that are still function names when a `(` follows.
    static let callable: Set<String> = ["left", "right", "like"]
}
