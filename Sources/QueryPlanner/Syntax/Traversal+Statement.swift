/// Statement-level walks, on the same primitive as queries (see Traversal.swift).
extension Statement: SyntaxContainer {
    /// This statement rebuilt with `expression` applied to each expression it owns directly
    /// (assignments, WHERE, RETURNING, defaults, checks, index predicates) and `query` to each
    /// query it holds directly (the SELECT itself, an INSERT's rows, common tables, a view's query).
    /// EXPLAIN maps the statement it explains.
    public func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> Statement {
        func mapped(_ items: [SelectItem]) throws(E) -> [SelectItem] {
            try items.map { (item) throws(E) in try item.mappingExpression(expression) }
        }
        func mapped(_ assignments: [Assignment]) throws(E) -> [Assignment] {
            try assignments.map { (assignment) throws(E) in Assignment(assignment.column, try expression(assignment.value)) }
        }
        func mapped(_ commonTables: [CommonTableExpression]) throws(E) -> [CommonTableExpression] {
            try commonTables.map { (table) throws(E) in
                CommonTableExpression(name: table.name, columns: table.columns, query: try query(table.query), recursive: table.recursive)
            }
        }
        switch self {
        case .select(let node):
            return .select(try query(node))
        case .insert(var node):
            node.with = try mapped(node.with)
            if case .query(let rows) = node.source { node.source = .query(try query(rows)) }
            if case .doUpdate(let assignments, let condition)? = node.onConflict?.action {
                node.onConflict?.action = .doUpdate(try mapped(assignments), whereClause: try condition.map(expression))
            }
            node.returning = try mapped(node.returning)
            return .insert(node)
        case .update(var node):
            node.with = try mapped(node.with)
            node.assignments = try mapped(node.assignments)
            node.whereClause = try node.whereClause.map(expression)
            node.returning = try mapped(node.returning)
            return .update(node)
        case .delete(var node):
            node.with = try mapped(node.with)
            node.whereClause = try node.whereClause.map(expression)
            node.returning = try mapped(node.returning)
            return .delete(node)
        case .createTable(var node):
            for index in node.columns.indices {
                node.columns[index] = try node.columns[index].mappingExpressions(expression)
            }
            for index in node.constraints.indices {
                if case .check(let condition) = node.constraints[index].kind {
                    node.constraints[index].kind = .check(try expression(condition))
                }
            }
            return .createTable(node)
        case .createIndex(var node):
            node.whereClause = try node.whereClause.map(expression)
            return .createIndex(node)
        case .createView(var node):
            node.query = try query(node.query)
            return .createView(node)
        case .alterTable(var node):
            switch node.action {
            case .addColumn(let column): node.action = .addColumn(try column.mappingExpressions(expression))
            case .addPrimaryKey: break
            }
            return .alterTable(node)
        case .explain(var node):
            node.statement = try node.statement.mappingParts(expression: expression, query: query)
            return .explain(node)
        case .drop, .reindex, .set, .show, .transaction, .user, .truncate, .vacuum, .session:
            return self
        }
    }

    /// Calls `body` on every query of the statement, at any depth, outer queries first.
    public func forEachQuery<E: Error>(_ body: (Select) throws(E) -> Void) throws(E) {
        try forEachNestedQuery(body)
    }
}

extension ColumnDefinition {
    /// The column with `transform` applied to its DEFAULT and CHECK expressions.
    public func mappingExpressions<E: Error>(_ transform: (Expression) throws(E) -> Expression) throws(E) -> ColumnDefinition {
        var result = self
        for index in result.constraints.indices {
            switch result.constraints[index].kind {
            case .defaultValue(let value): result.constraints[index].kind = .defaultValue(try transform(value))
            case .check(let condition): result.constraints[index].kind = .check(try transform(condition))
            case .primaryKey, .notNull, .null, .unique: break
            }
        }
        return result
    }
}
