/// The planner's walks over a statement's structure: select cores with the CTE names visible to
/// them, the tables of a FROM clause, the expressions of one query level. Expression walks
/// themselves are the syntax module's (`Expression.forEach`, `rewritten`, `SyntaxContainer`).
public enum Traversal {
    /// Every expression directly in `core` (select items, WHERE, GROUP BY, HAVING, ON clauses),
    /// not inside its sub-selects.
    public static func expressions(of core: SelectCore) -> [Expression] {
        var result: [Expression] = []
        for item in core.items { if case .expression(let expression, _) = item { result.append(expression) } }
        if let from = core.from { result += onClauses(of: from) }
        result += [core.whereClause, core.having].compactMap { $0 }
        result += core.groupBy
        return result
    }

    static func onClauses(of from: FromClause) -> [Expression] {
        var result: [Expression] = []
        for reference in [from.first] + from.joins.map(\.table) {
            if case .nested(let inner, _) = reference { result += onClauses(of: inner) }
        }
        for join in from.joins { if case .on(let condition) = join.constraint { result.append(condition) } }
        return result
    }

    /// The queries directly in `expressions` (not inside those queries).
    static func subqueries(in expressions: [Expression]) -> [Select] {
        var found: [Select] = []
        for expression in expressions {
            expression.forEach(intoSubqueries: false) { found += $0.subqueries }
        }
        return found
    }

    /// Every select core and VALUES term of `select` and of all its sub-selects (CTEs, FROM
    /// subqueries, expression subqueries), each with the CTE names visible to it.
    public static func forEachCore(_ select: Select, ctes: Set<String> = [], _ body: (QueryTerm, Set<String>) -> Void) {
        var visible = ctes
        for cte in select.with {
            forEachCore(cte.query, ctes: cte.recursive ? visible.union([cte.name.name]) : visible, body)
            visible.insert(cte.name.name)
        }
        for term in [select.body.first] + select.body.compounds.map(\.term) {
            body(term, visible)
            let nested: [Select]
            switch term {
            case .select(let core):
                nested = subqueries(in: expressions(of: core)) + (core.from.map(fromSubqueries) ?? [])
            case .values(let values):
                nested = subqueries(in: values.rows.flatMap { $0 })
            }
            for sub in nested { forEachCore(sub, ctes: visible, body) }
        }
        let tail = select.orderBy.map(\.expression) + [select.limit, select.offset].compactMap { $0 }
        for sub in subqueries(in: tail) { forEachCore(sub, ctes: visible, body) }
    }

    static func fromSubqueries(_ from: FromClause) -> [Select] {
        var result: [Select] = []
        for reference in [from.first] + from.joins.map(\.table) {
            switch reference {
            case .subquery(let select, _, _): result.append(select)
            case .nested(let inner, _): result += fromSubqueries(inner)
            case .table: break
            }
        }
        return result
    }

    /// The named tables of a FROM clause, at this level (not inside subqueries), with whether
    /// each is on the nullable side of a LEFT JOIN.
    public static func namedTables(_ from: FromClause, nullable: Bool = false) -> [(table: NamedTable, nullable: Bool)] {
        var result: [(NamedTable, Bool)] = []
        var seenLeft = nullable
        for (index, reference) in ([from.first] + from.joins.map(\.table)).enumerated() {
            // A table joined before a LEFT JOIN is not nullable, one after it is; anything after a
            // LEFT JOIN is treated as nullable, which only ever disables a pushdown.
            if index > 0, from.joins[index - 1].kind == .left { seenLeft = true }
            switch reference {
            case .table(let table): result.append((table, seenLeft))
            case .nested(let inner, _): result += namedTables(inner, nullable: seenLeft)
            case .subquery: break
            }
        }
        return result
    }

    /// True when any expression of `select`, at any depth, satisfies `predicate`.
    public static func contains(_ select: Select, where predicate: (Expression) -> Bool) -> Bool {
        var found = false
        select.forEachExpression { if !found, predicate($0) { found = true } }
        return found
    }

    /// How many parameters the rendered `node` binds ($1…$n: n is the largest used).
    public static func parameterCount(_ node: some SyntaxContainer) -> Int {
        var largest = 0
        node.forEachExpression { if case .parameter(let index) = $0.kind { largest = max(largest, index) } }
        return largest
    }
}
