/// INSERT, UPDATE and DELETE. A leading WITH clause is parsed by the caller and attached after.
extension Parser {
    /// `INSERT [OR resolution] INTO table [AS alias] [(columns)] {VALUES ... | query | DEFAULT VALUES}
    /// [ON CONFLICT ...] [RETURNING ...]`, or `REPLACE INTO ...`.
    mutating func insert() throws(SQLError) -> Insert {
        let start = current.location
        var resolution: ConflictResolution?
        if consumeWord("replace") {
            resolution = .replace
        } else {
            try expectWord("insert")
            if consumeWord("or") { resolution = try conflictResolution() }
        }
        try expectWord("into")
        let table = try identifier()
        let alias = consumeWord("as") ? try identifier() : nil
        let columns = isSymbol("(") && !atQueryStart(ahead: 1) ? try parenthesizedIdentifiers() : []
        let source: InsertSource
        if consumeWord("default") {
            try expectWord("values")
            source = .defaultValues
        } else if atQueryStart() {
            source = .query(try select())
        } else {
            throw syntaxError()
        }
        var insert = Insert(conflictResolution: resolution, table: table, alias: alias, columns: columns,
                            source: source, at: start)
        if isWord("on") && isWord("conflict", ahead: 1) { insert.onConflict = try onConflict() }
        if consumeWord("returning") { insert.returning = try selectItems() }
        return insert
    }

    /// The word after `INSERT OR` / `UPDATE OR`.
    private mutating func conflictResolution() throws(SQLError) -> ConflictResolution {
        let resolutions: [String: ConflictResolution] = [
            "replace": .replace, "ignore": .ignore, "abort": .abort, "fail": .fail, "rollback": .rollback,
        ]
        guard case .word(let word) = current.kind, let resolution = resolutions[word] else { throw syntaxError() }
        advance()
        return resolution
    }

    /// `ON CONFLICT [(columns)] DO NOTHING | DO UPDATE SET ... [WHERE ...]`.
    private mutating func onConflict() throws(SQLError) -> OnConflict {
        let start = try expectWord("on")
        try expectWord("conflict")
        if isWord("on") && isWord("constraint", ahead: 1) { throw unsupported("ON CONFLICT ON CONSTRAINT") }
        let target = isSymbol("(") ? try parenthesizedIdentifiers() : []
        if isWord("where") { throw unsupported("a WHERE clause on an ON CONFLICT target") }
        try expectWord("do")
        if consumeWord("nothing") { return OnConflict(target: target, action: .doNothing, at: start) }
        try expectWord("update")
        try expectWord("set")
        let assignments = try assignments()
        let condition = consumeWord("where") ? try expression() : nil
        return OnConflict(target: target, action: .doUpdate(assignments, whereClause: condition), at: start)
    }

    /// `column = value, ...`
    private mutating func assignments() throws(SQLError) -> [Assignment] {
        try commaSeparated { (parser: inout Parser) throws(SQLError) -> Assignment in
            if parser.isSymbol("(") { throw parser.unsupported("assigning a list of columns at once") }
            let column = try parser.identifier()
            if parser.isSymbol(".") { throw parser.unsupported("a qualified column name in SET") }
            try parser.expectSymbol("=")
            if parser.isWord("default") { throw parser.unsupported("SET column = DEFAULT") }
            return Assignment(column, try parser.expression())
        }
    }

    /// `UPDATE [OR resolution] table [[AS] alias] SET assignments [WHERE ...] [RETURNING ...]`.
    mutating func update() throws(SQLError) -> Update {
        let start = try expectWord("update")
        let resolution = consumeWord("or") ? try conflictResolution() : nil
        let table = try identifier()
        let alias = try optionalAlias()
        try expectWord("set")
        var update = Update(conflictResolution: resolution, table: table, alias: alias,
                            assignments: try assignments(), at: start)
        if isWord("from") { throw unsupported("UPDATE ... FROM") }
        if consumeWord("where") { update.whereClause = try expression() }
        if consumeWord("returning") { update.returning = try selectItems() }
        return update
    }

    /// `DELETE FROM table [[AS] alias] [WHERE ...] [RETURNING ...]`.
    mutating func delete() throws(SQLError) -> Delete {
        let start = try expectWord("delete")
        try expectWord("from")
        var delete = Delete(table: try identifier(), alias: try optionalAlias(), at: start)
        if isWord("using") { throw unsupported("DELETE ... USING") }
        if consumeWord("where") { delete.whereClause = try expression() }
        if consumeWord("returning") { delete.returning = try selectItems() }
        return delete
    }
}
