/// Writes a syntax tree back as SQL text that SQLite runs with the same meaning: what the shards
/// execute and what EXPLAIN shows. PostgreSQL spellings become SQLite's (`x::t` and CAST name the
/// SQLite affinity, ILIKE is LIKE, TRUE is 1, `$n` is `?n`, BYTEA is BLOB); MeshDB's table
/// options (SHARD BY, SHARDS) are left out; every composite operand is parenthesized and every
/// name that needs it is double-quoted. Comments and the original spacing are not kept.
///
/// Two things do not carry over, by design: an unaliased result column's name (SQLite names it
/// after the text, which is rewritten here; the planner names columns PostgreSQL's way), and the
/// statements SQLite has no equivalent for (SET, SHOW, EXPLAIN), which are written in MeshDB's
/// own dialect for display.
public struct SQLiteRenderer {
    var output = ""

    public static func render(_ statement: Statement) -> String {
        var renderer = SQLiteRenderer()
        renderer.write(statement)
        return renderer.output
    }

    public static func render(_ query: Select) -> String {
        var renderer = SQLiteRenderer()
        renderer.write(query)
        return renderer.output
    }

    public static func render(_ expression: Expression) -> String {
        var renderer = SQLiteRenderer()
        renderer.write(expression)
        return renderer.output
    }

    // MARK: - Statements

    mutating func write(_ statement: Statement) {
        switch statement {
        case .select(let query): write(query)
        case .insert(let insert): write(insert)
        case .update(let update): write(update)
        case .delete(let delete): write(delete)
        case .createTable(let table): write(table)
        case .createIndex(let index): write(index)
        case .createView(let view):
            output += view.temporary ? "CREATE TEMP VIEW " : "CREATE VIEW "
            if view.ifNotExists { output += "IF NOT EXISTS " }
            write(view.name)
            if !view.columns.isEmpty { writeParenthesized(view.columns) }
            output += " AS "
            write(view.query)
        case .drop(let drop):
            output += "DROP \(drop.objectKind.rawValue) "
            if drop.ifExists { output += "IF EXISTS " }
            // SQLite drops one object per statement: several names are for display only.
            for (index, name) in drop.names.enumerated() {
                if index > 0 { output += ", " }
                write(name)
            }
        case .reindex(let reindex):
            // SQLite's REINDEX takes the bare name of a table or an index.
            output += "REINDEX "
            write(reindex.name)
        case .alterTable(let alter):
            output += "ALTER TABLE "
            write(alter.table)
            switch alter.action {
            case .addColumn(let column):
                output += " ADD COLUMN "
                write(column)
            case .addPrimaryKey(let columns, let name):
                // PostgreSQL's form, for display: SQLite cannot add a key to a table.
                output += " ADD "
                if let name {
                    output += "CONSTRAINT "
                    write(name)
                    output += " "
                }
                output += "PRIMARY KEY"
                writeParenthesized(columns.map(\.name))
            }
        case .truncate(let truncate):
            // PostgreSQL's form, for display: the shards run DELETE.
            output += "TRUNCATE "
            for (index, table) in truncate.tables.enumerated() {
                if index > 0 { output += ", " }
                write(table)
            }
        case .session(let command):
            // PostgreSQL's form, for display: the gateway runs it.
            switch command.kind {
            case .deallocate(let name): output += "DEALLOCATE "; if let name { write(name) } else { output += "ALL" }
            case .discard(let target): output += "DISCARD \(target.rawValue)"
            case .close(let name): output += "CLOSE "; if let name { write(name) } else { output += "ALL" }
            case .unlisten(let name): output += "UNLISTEN "; if let name { write(name) } else { output += "*" }
            }
        case .vacuum(let vacuum):
            output += vacuum.vacuums ? (vacuum.analyzes ? "VACUUM ANALYZE" : "VACUUM") : "ANALYZE"
            for (index, table) in vacuum.tables.enumerated() {
                output += index > 0 ? ", " : " "
                write(table)
            }
        case .set(let set):
            output += "SET \(Self.settingName(set.name)) = "
            switch set.value {
            case .defaultValue: output += "DEFAULT"
            case .values(let values): output += values.map { Self.quotedString($0) }.joined(separator: ", ")
            }
        case .show(let show):
            output += "SHOW \(Self.settingName(show.name))"
        case .explain(let explain):
            output += explain.analyze ? "EXPLAIN ANALYZE " : "EXPLAIN "
            write(explain.statement)
        case .user(let user):
            // MeshDB syntax, for round trips: SQLite has no users.
            switch user.action {
            case .create(let password):
                output += "CREATE USER "
                write(user.name)
                output += " WITH PASSWORD \(Self.quotedString(password))"
            case .alter(let password):
                output += "ALTER USER "
                write(user.name)
                output += " WITH PASSWORD \(Self.quotedString(password))"
            case .drop(let ifExists):
                output += ifExists ? "DROP USER IF EXISTS " : "DROP USER "
                write(user.name)
            }
        case .transaction(let transaction):
            switch transaction.kind {
            case .begin: output += "BEGIN"
            case .commit: output += "COMMIT"
            case .rollback: output += "ROLLBACK"
            }
        }
    }

    private mutating func write(_ insert: Insert) {
        writeWith(insert.with)
        output += "INSERT "
        if let resolution = insert.conflictResolution { output += "OR \(Self.spelling(of: resolution)) " }
        output += "INTO "
        write(insert.table)
        if let alias = insert.alias {
            output += " AS "
            write(alias)
        }
        if !insert.columns.isEmpty { writeParenthesized(insert.columns) }
        switch insert.source {
        case .defaultValues:
            output += " DEFAULT VALUES"
        case .query(let rows):
            output += " "
            write(insert.onConflict == nil ? rows : Self.endingOutsideFrom(rows))
        }
        if let onConflict = insert.onConflict {
            output += " ON CONFLICT"
            if !onConflict.target.isEmpty { writeParenthesized(onConflict.target) }
            switch onConflict.action {
            case .doNothing:
                output += " DO NOTHING"
            case .doUpdate(let assignments, let condition):
                output += " DO UPDATE SET "
                write(assignments)
                writeClause(" WHERE ", condition)
            }
        }
        writeReturning(insert.returning)
    }

    /// SQLite reads `ON CONFLICT` right after `INSERT ... SELECT ... FROM t` as a join constraint;
    /// its documented way out is a WHERE clause, so a query that ends in its FROM clause gets
    /// `WHERE 1`, which keeps every row.
    private static func endingOutsideFrom(_ query: Select) -> Select {
        guard query.orderBy.isEmpty, query.limit == nil, query.offset == nil else { return query }
        var result = query
        let last = result.body.compounds.last?.term ?? result.body.first
        guard case .select(var core) = last, core.from != nil, core.whereClause == nil, core.groupBy.isEmpty,
              core.having == nil else { return query }
        core.whereClause = .literal(.integer(1))
        if result.body.compounds.isEmpty {
            result.body.first = .select(core)
        } else {
            result.body.compounds[result.body.compounds.count - 1].term = .select(core)
        }
        return result
    }

    private mutating func write(_ update: Update) {
        writeWith(update.with)
        output += "UPDATE "
        if let resolution = update.conflictResolution { output += "OR \(Self.spelling(of: resolution)) " }
        write(update.table)
        if let alias = update.alias {
            output += " AS "
            write(alias)
        }
        output += " SET "
        write(update.assignments)
        writeClause(" WHERE ", update.whereClause)
        writeReturning(update.returning)
    }

    private mutating func write(_ delete: Delete) {
        writeWith(delete.with)
        output += "DELETE FROM "
        write(delete.table)
        if let alias = delete.alias {
            output += " AS "
            write(alias)
        }
        writeClause(" WHERE ", delete.whereClause)
        writeReturning(delete.returning)
    }

    private mutating func write(_ assignments: [Assignment]) {
        writeList(assignments) { (renderer: inout SQLiteRenderer, assignment) in
            renderer.write(assignment.column)
            renderer.output += " = "
            renderer.write(assignment.value)
        }
    }

    private mutating func writeReturning(_ items: [SelectItem]) {
        guard !items.isEmpty else { return }
        output += " RETURNING "
        writeList(items) { (renderer: inout SQLiteRenderer, item) in renderer.write(item) }
    }

    private static func spelling(of resolution: ConflictResolution) -> String {
        switch resolution {
        case .replace: "REPLACE"
        case .ignore: "IGNORE"
        case .abort: "ABORT"
        case .fail: "FAIL"
        case .rollback: "ROLLBACK"
        }
    }

    // MARK: - Schema

    private mutating func write(_ table: CreateTable) {
        output += "CREATE TABLE "
        if table.ifNotExists { output += "IF NOT EXISTS " }
        write(table.name)
        output += " ("
        writeList(table.columns) { (renderer: inout SQLiteRenderer, column) in renderer.write(column) }
        for constraint in table.constraints {
            output += ", "
            writeConstraintName(constraint.name)
            switch constraint.kind {
            case .primaryKey(let columns):
                output += "PRIMARY KEY"
                write(columns)
            case .unique(let columns):
                output += "UNIQUE"
                write(columns)
            case .check(let condition):
                writeCheck(condition)
            }
        }
        output += ")"
    }

    private mutating func write(_ column: ColumnDefinition) {
        write(column.name)
        if let type = column.type { output += " \(type.sqliteDeclaredType)" }
        for constraint in column.constraints {
            output += " "
            writeConstraintName(constraint.name)
            switch constraint.kind {
            case .primaryKey(let direction):
                output += "PRIMARY KEY"
                writeDirection(direction)
            case .notNull: output += "NOT NULL"
            case .null: output += "NULL"
            case .unique: output += "UNIQUE"
            case .defaultValue(let value):
                output += "DEFAULT ("
                write(value)
                output += ")"
            case .check(let condition):
                writeCheck(condition)
            }
        }
    }

    private mutating func writeConstraintName(_ name: Identifier?) {
        guard let name else { return }
        output += "CONSTRAINT "
        write(name)
        output += " "
    }

    private mutating func writeCheck(_ condition: Expression) {
        output += "CHECK ("
        write(condition)
        output += ")"
    }

    private mutating func write(_ index: CreateIndex) {
        output += index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX "
        if index.ifNotExists { output += "IF NOT EXISTS " }
        write(index.name)
        output += " ON "
        write(index.table)
        write(index.columns)
        writeClause(" WHERE ", index.whereClause)
    }

    /// ` (a ASC, b)`
    private mutating func write(_ columns: [IndexedColumn]) {
        output += " ("
        writeList(columns) { (renderer: inout SQLiteRenderer, column) in
            renderer.write(column.name)
            renderer.writeDirection(column.direction)
        }
        output += ")"
    }

    private mutating func writeDirection(_ direction: SortDirection?) {
        switch direction {
        case .ascending: output += " ASC"
        case .descending: output += " DESC"
        case nil: break
        }
    }

    /// ` (a, b)`
    mutating func writeParenthesized(_ names: [Identifier]) {
        output += " ("
        writeList(names) { (renderer: inout SQLiteRenderer, name) in renderer.write(name) }
        output += ")"
    }

    /// `keyword expression` when there is an expression.
    mutating func writeClause(_ keyword: String, _ expression: Expression?) {
        guard let expression else { return }
        output += keyword
        write(expression)
    }

    static func quotedString(_ value: String) -> String { quoted(value, by: "'") }

    /// A dotted setting name with each part quoted as it needs, so that it reads back the same.
    private static func settingName(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { quotedIfNeeded(String($0)) }
            .joined(separator: ".")
    }

    /// `value` between `quote`s, each `quote` inside doubled: SQL's one escape for both strings
    /// and names. Scalar by scalar, not by Character: a quote followed by a combining mark is one
    /// Character that is not equal to the quote, yet SQLite sees the quote byte.
    static func quoted(_ value: String, by quote: Unicode.Scalar) -> String {
        var result = String.UnicodeScalarView()
        result.append(quote)
        for scalar in value.unicodeScalars {
            if scalar == quote { result.append(quote) }
            result.append(scalar)
        }
        result.append(quote)
        return String(result)
    }
}
