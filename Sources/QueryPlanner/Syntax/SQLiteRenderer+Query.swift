/// Queries as SQLite reads them.
extension SQLiteRenderer {
    mutating func write(_ query: Select) {
        writeWith(query.with)
        write(query.body.first)
        for compound in query.body.compounds {
            switch compound.setOperator {
            case .union: output += " UNION "
            case .unionAll: output += " UNION ALL "
            case .intersect: output += " INTERSECT "
            case .except: output += " EXCEPT "
            }
            write(compound.term)
        }
        if !query.orderBy.isEmpty {
            output += " ORDER BY "
            // Top-level terms are written bare: an integer there is a column ordinal.
            writeList(query.orderBy) { (renderer: inout SQLiteRenderer, term) in
                renderer.write(term.expression)
                switch term.direction {
                case .ascending: renderer.output += " ASC"
                case .descending: renderer.output += " DESC"
                case nil: break
                }
                switch term.nulls {
                case .first: renderer.output += " NULLS FIRST"
                case .last: renderer.output += " NULLS LAST"
                case nil: break
                }
            }
        }
        if let limit = query.limit {
            output += " LIMIT "
            write(limit)
        } else if query.offset != nil {
            output += " LIMIT -1"  // SQLite takes OFFSET only after a LIMIT; -1 is none
        }
        writeClause(" OFFSET ", query.offset)
    }

    mutating func writeWith(_ commonTables: [CommonTableExpression]) {
        guard !commonTables.isEmpty else { return }
        output += "WITH "
        writeList(commonTables) { (renderer: inout SQLiteRenderer, table) in
            renderer.write(table.name)
            if !table.columns.isEmpty { renderer.writeParenthesized(table.columns) }
            renderer.output += " AS ("
            renderer.write(table.query)
            renderer.output += ")"
        }
        output += " "
    }

    private mutating func write(_ term: QueryTerm) {
        switch term {
        case .values(let values):
            output += "VALUES "
            writeList(values.rows) { (renderer: inout SQLiteRenderer, row) in
                renderer.output += "("
                renderer.writeList(row) { (renderer: inout SQLiteRenderer, value) in renderer.write(value) }
                renderer.output += ")"
            }
        case .select(let core):
            output += core.distinct ? "SELECT DISTINCT " : "SELECT "
            writeList(core.items) { (renderer: inout SQLiteRenderer, item) in renderer.write(item) }
            if let from = core.from {
                output += " FROM "
                write(from)
            }
            writeClause(" WHERE ", core.whereClause)
            if !core.groupBy.isEmpty {
                // Bare, like ORDER BY: SQLite reads an integer here as a column ordinal too.
                output += " GROUP BY "
                writeList(core.groupBy) { (renderer: inout SQLiteRenderer, value) in renderer.write(value) }
            }
            writeClause(" HAVING ", core.having)
        }
    }

    mutating func write(_ item: SelectItem) {
        switch item {
        case .wildcard:
            output += "*"
        case .tableWildcard(let table):
            write(table)
            output += ".*"
        case .expression(let value, let alias):
            write(value)
            if let alias {
                output += " AS "
                write(alias)
            }
        }
    }

    private mutating func write(_ from: FromClause) {
        write(from.first)
        for join in from.joins {
            switch join.kind {
            case .comma: output += ", "
            case .inner: output += " JOIN "
            case .left: output += " LEFT JOIN "
            case .cross: output += " CROSS JOIN "
            }
            write(join.table)
            switch join.constraint {
            case .on(let condition)?:
                output += " ON "
                write(condition)
            case .using(let columns)?:
                output += " USING"
                writeParenthesized(columns)
            case nil:
                break
            }
        }
    }

    private mutating func write(_ table: TableReference) {
        switch table {
        case .table(let named):
            write(named.name)
            if let alias = named.alias {
                output += " AS "
                write(alias)
            }
            switch named.indexHint {
            case .indexedBy(let index)?:
                output += " INDEXED BY "
                write(index)
            case .notIndexed?:
                output += " NOT INDEXED"
            case nil:
                break
            }
        case .subquery(let query, let alias, _):
            output += "("
            write(query)
            output += ")"
            if let alias {
                output += " AS "
                write(alias)
            }
        case .nested(let from, _):
            output += "("
            write(from)
            output += ")"
        }
    }
}
