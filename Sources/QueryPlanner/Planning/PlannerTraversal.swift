/// Walks over syntax trees for the planner: every expression of a statement, every sub-select,
/// every table named. Subqueries are entered (a walk sees the whole statement) unless said
/// otherwise. Trees are bounded in depth by the parser's limits, so recursion is bounded too.
public enum Traversal {
    /// Calls `body` with `expression` and each of its sub-expressions, pre-order. Sub-selects are
    /// handed to `select` instead of being entered (nil: skip them).
    public static func forEach(_ expression: Expression, select: ((Select) -> Void)? = nil, _ body: (Expression) -> Void) {
        body(expression)
        func recurse(_ child: Expression) { forEach(child, select: select, body) }
        switch expression.kind {
        case .literal, .column, .parameter, .currentTime: break
        case .unary(_, let operand): recurse(operand)
        case .binary(_, let lhs, let rhs): recurse(lhs); recurse(rhs)
        case .isNull(let operand, _): recurse(operand)
        case .between(let operand, let low, let high, _): recurse(operand); recurse(low); recurse(high)
        case .inList(let operand, let list, _): recurse(operand); list.forEach(recurse)
        case .inSubquery(let operand, let query, _): recurse(operand); select?(query)
        case .exists(let query), .subquery(let query): select?(query)
        case .like(let operand, let pattern, let escape, _, _): recurse(operand); recurse(pattern); if let escape { recurse(escape) }
        case .caseWhen(let operand, let branches, let elseResult):
            if let operand { recurse(operand) }
            for branch in branches { recurse(branch.condition); recurse(branch.result) }
            if let elseResult { recurse(elseResult) }
        case .cast(let operand, _): recurse(operand)
        case .function(let call): call.arguments.expressions.forEach(recurse)
        }
    }

    /// `expression` rebuilt bottom-up: `transform` sees each node after its children were rebuilt
    /// and returns its replacement (or the node itself). Sub-selects are left as they are.
    public static func rewrite(_ expression: Expression, _ transform: (Expression) throws(SQLError) -> Expression) throws(SQLError) -> Expression {
        var node = expression
        func r(_ child: Expression) throws(SQLError) -> Expression { try rewrite(child, transform) }
        switch expression.kind {
        case .literal, .column, .parameter, .currentTime, .exists, .subquery: break
        case .unary(let op, let operand): node.kind = .unary(op, try r(operand))
        case .binary(let op, let lhs, let rhs): node.kind = .binary(op, try r(lhs), try r(rhs))
        case .isNull(let operand, let negated): node.kind = .isNull(try r(operand), negated: negated)
        case .between(let operand, let low, let high, let negated):
            node.kind = .between(try r(operand), low: try r(low), high: try r(high), negated: negated)
        case .inList(let operand, let list, let negated):
            var items: [Expression] = []
            for item in list { items.append(try r(item)) }
            node.kind = .inList(try r(operand), items, negated: negated)
        case .inSubquery(let operand, let query, let negated): node.kind = .inSubquery(try r(operand), query, negated: negated)
        case .like(let operand, let pattern, let escape, let insensitive, let negated):
            node.kind = .like(try r(operand), pattern: try r(pattern), escape: try escape.map { e throws(SQLError) in try r(e) },
                              caseInsensitive: insensitive, negated: negated)
        case .caseWhen(let operand, let branches, let elseResult):
            var rebuilt: [CaseBranch] = []
            for branch in branches { rebuilt.append(CaseBranch(when: try r(branch.condition), then: try r(branch.result))) }
            node.kind = .caseWhen(operand: try operand.map { e throws(SQLError) in try r(e) }, branches: rebuilt,
                                  elseResult: try elseResult.map { e throws(SQLError) in try r(e) })
        case .cast(let operand, let type): node.kind = .cast(try r(operand), type)
        case .function(var call):
            if case .list(let arguments) = call.arguments {
                var rebuilt: [Expression] = []
                for argument in arguments { rebuilt.append(try r(argument)) }
                call.arguments = .list(rebuilt)
            }
            node.kind = .function(call)
        }
        return try transform(node)
    }

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

    public static func onClauses(of from: FromClause) -> [Expression] {
        var result: [Expression] = []
        for reference in [from.first] + from.joins.map(\.table) {
            if case .nested(let inner, _) = reference { result += onClauses(of: inner) }
        }
        for join in from.joins { if case .on(let condition) = join.constraint { result.append(condition) } }
        return result
    }

    /// Every select core and VALUES term of `select` and of all its sub-selects (CTEs, FROM
    /// subqueries, expression subqueries), each with the CTE names visible to it.
    public static func forEachCore(_ select: Select, ctes: Set<String> = [], _ body: (QueryTerm, Set<String>) -> Void) {
        var visible = ctes
        for cte in select.with {
            forEachCore(cte.query, ctes: visible, body)
            visible.insert(cte.name.name)
        }
        let terms = [select.body.first] + select.body.compounds.map(\.term)
        for term in terms {
            body(term, visible)
            var subselects: [Select] = []
            let collect: (Select) -> Void = { subselects.append($0) }
            switch term {
            case .select(let core):
                for expression in expressions(of: core) { forEach(expression, select: collect) { _ in } }
                if let from = core.from { subselects += fromSubqueries(from) }
            case .values(let values):
                for row in values.rows { for expression in row { forEach(expression, select: collect) { _ in } } }
            }
            for sub in subselects { forEachCore(sub, ctes: visible, body) }
        }
        var orderSubselects: [Select] = []
        for term in select.orderBy { forEach(term.expression, select: { orderSubselects.append($0) }) { _ in } }
        for expression in [select.limit, select.offset].compactMap({ $0 }) { forEach(expression, select: { orderSubselects.append($0) }) { _ in } }
        for sub in orderSubselects { forEachCore(sub, ctes: visible, body) }
    }

    public static func fromSubqueries(_ from: FromClause) -> [Select] {
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
            if index > 0, from.joins[index - 1].kind == .left { seenLeft = true }
            // A table joined before a LEFT JOIN is not nullable, one after it is; anything after a
            // LEFT JOIN is treated as nullable, which only ever disables a pushdown.
            switch reference {
            case .table(let table): result.append((table, seenLeft))
            case .nested(let inner, _): result += namedTables(inner, nullable: seenLeft)
            case .subquery: break
            }
        }
        return result
    }

    /// True when any expression in `select` (at any depth) satisfies `predicate`.
    public static func contains(_ select: Select, where predicate: (Expression) -> Bool) -> Bool {
        var found = false
        forEachCore(select) { term, _ in
            guard !found else { return }
            switch term {
            case .select(let core):
                for expression in expressions(of: core) { forEach(expression) { if predicate($0) { found = true } } }
            case .values(let values):
                for row in values.rows { for expression in row { forEach(expression) { if predicate($0) { found = true } } } }
            }
        }
        for term in select.orderBy { forEach(term.expression) { if predicate($0) { found = true } } }
        return found
    }

    /// The largest `$n` in `select`: how many parameters its SQL takes once rendered.
    public static func maxParameter(_ select: Select) -> Int {
        var largest = 0
        _ = contains(select) { expression in
            if case .parameter(let index) = expression.kind { largest = max(largest, index) }
            return false
        }
        if let limit = select.limit { forEach(limit) { if case .parameter(let index) = $0.kind { largest = max(largest, index) } } }
        if let offset = select.offset { forEach(offset) { if case .parameter(let index) = $0.kind { largest = max(largest, index) } } }
        return largest
    }

    /// How many parameters the rendered `statement` binds ($1…$n: n is the largest used).
    public static func maxParameterCount(_ statement: Statement) -> Int {
        var largest = 0
        func scan(_ expression: Expression) {
            forEach(expression, select: { largest = max(largest, maxParameter($0)) }) { node in
                if case .parameter(let index) = node.kind { largest = max(largest, index) }
            }
        }
        func scan(_ items: [SelectItem]) {
            for case .expression(let expression, _) in items { scan(expression) }
        }
        switch statement {
        case .select(let select): return maxParameter(select)
        case .update(let update):
            update.assignments.forEach { scan($0.value) }
            update.whereClause.map(scan)
            scan(update.returning)
        case .delete(let delete):
            delete.whereClause.map(scan)
            scan(delete.returning)
        case .insert(let insert):
            if case .query(let select) = insert.source { largest = max(largest, maxParameter(select)) }
            if case .doUpdate(let assignments, let condition)? = insert.onConflict?.action {
                assignments.forEach { scan($0.value) }
                condition.map(scan)
            }
            scan(insert.returning)
        default: break
        }
        return largest
    }

    public static func maxParameterCount(_ select: Select) -> Int { maxParameter(select) }
}
