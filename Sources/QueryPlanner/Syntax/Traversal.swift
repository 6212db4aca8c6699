/// Walking and rewriting syntax trees. One primitive per node family — `mappingChildren` for
/// expressions, `mappingParts` for queries and statements — rebuilds a node from its direct parts;
/// every walk (bottom-up rewrite, pre-order visit, collecting) is written once on top of it, so a
/// new node kind needs one new case in one place. Recursion depth is bounded by the parser's
/// `expressionDepthMax` for parsed trees.
///
/// "Into subqueries" decides whether a walk over an expression continues into the queries nested
/// in it (`IN (SELECT ...)`, `EXISTS`, scalar subqueries). Parameter substitution and replacing
/// `random()` want everything; finding the columns or aggregates of one query level does not.
extension Expression {
    /// This node rebuilt with `expression` applied to each direct child expression and `query` to
    /// each query directly inside it.
    public func mappingChildren<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> Expression {
        let mapped: Kind
        switch kind {
        case .literal, .column, .parameter, .currentTime:
            return self
        case .unary(let op, let operand):
            mapped = .unary(op, try expression(operand))
        case .binary(let op, let left, let right):
            mapped = .binary(op, try expression(left), try expression(right))
        case .isNull(let operand, let negated):
            mapped = .isNull(try expression(operand), negated: negated)
        case .between(let operand, let low, let high, let negated):
            mapped = .between(try expression(operand), low: try expression(low), high: try expression(high), negated: negated)
        case .inList(let operand, let list, let negated):
            mapped = .inList(try expression(operand), try list.map(expression), negated: negated)
        case .inSubquery(let operand, let subquery, let negated):
            mapped = .inSubquery(try expression(operand), try query(subquery), negated: negated)
        case .exists(let subquery):
            mapped = .exists(try query(subquery))
        case .subquery(let subquery):
            mapped = .subquery(try query(subquery))
        case .like(let operand, let pattern, let escape, let caseInsensitive, let negated):
            mapped = .like(try expression(operand), pattern: try expression(pattern), escape: try escape.map(expression),
                           caseInsensitive: caseInsensitive, negated: negated)
        case .caseWhen(let operand, let branches, let elseResult):
            var newBranches: [CaseBranch] = []
            newBranches.reserveCapacity(branches.count)
            for branch in branches {
                newBranches.append(CaseBranch(when: try expression(branch.condition), then: try expression(branch.result)))
            }
            mapped = .caseWhen(operand: try operand.map(expression), branches: newBranches,
                               elseResult: try elseResult.map(expression))
        case .cast(let operand, let type):
            mapped = .cast(try expression(operand), type)
        case .function(var call):
            if case .list(let arguments) = call.arguments { call.arguments = .list(try arguments.map(expression)) }
            mapped = .function(call)
        }
        return Expression(mapped, at: location)
    }

    /// Calls `expression` on each direct child expression and `query` on each query directly
    /// inside this node, in the order `mappingChildren` applies its functions, without rebuilding
    /// anything. The read-only walks (`forEach`, `children`, `subqueries`) use it: rebuilding
    /// every node to look at it allocated the whole tree again on each walk, and the planner
    /// walks a statement several times (the case list is `mappingChildren`'s, and
    /// `TraversalTests.visitingAndMappingMeetTheSameChildren` keeps the two alike).
    public func visitChildren<E: Error>(expression: (Expression) throws(E) -> Void, query: (Select) throws(E) -> Void) throws(E) {
        switch kind {
        case .literal, .column, .parameter, .currentTime:
            return
        case .unary(_, let operand), .isNull(let operand, _), .cast(let operand, _):
            try expression(operand)
        case .binary(_, let left, let right):
            try expression(left)
            try expression(right)
        case .between(let operand, let low, let high, _):
            try expression(operand)
            try expression(low)
            try expression(high)
        case .inList(let operand, let list, _):
            try expression(operand)
            for item in list { try expression(item) }
        case .inSubquery(let operand, let subquery, _):
            try expression(operand)
            try query(subquery)
        case .exists(let subquery), .subquery(let subquery):
            try query(subquery)
        case .like(let operand, let pattern, let escape, _, _):
            try expression(operand)
            try expression(pattern)
            if let escape { try expression(escape) }
        case .caseWhen(let operand, let branches, let elseResult):
            // mappingChildren builds the branches before it maps the operand.
            for branch in branches {
                try expression(branch.condition)
                try expression(branch.result)
            }
            if let operand { try expression(operand) }
            if let elseResult { try expression(elseResult) }
        case .function(let call):
            if case .list(let arguments) = call.arguments {
                for argument in arguments { try expression(argument) }
            }
        }
    }

    /// Bottom-up rewrite: every node's children are rewritten first, then `transform` gets the node
    /// with its new children. With `intoSubqueries`, nested queries are rewritten the same way.
    public func rewritten<E: Error>(
        intoSubqueries: Bool = true, _ transform: (Expression) throws(E) -> Expression
    ) throws(E) -> Expression {
        let rebuilt = try mappingChildren(
            expression: { (child) throws(E) in try child.rewritten(intoSubqueries: intoSubqueries, transform) },
            query: { (subquery) throws(E) in intoSubqueries ? try subquery.rewritingExpressions(transform) : subquery })
        return try transform(rebuilt)
    }

    /// Top-down replacement: `replacement` sees a node before its children; when it returns an
    /// expression, that expression takes the node's place and nothing below it is visited (so
    /// `sum(c)` can be replaced whole before `c` alone would be). Nested queries are left alone.
    public func replacing<E: Error>(_ replacement: (Expression) throws(E) -> Expression?) throws(E) -> Expression {
        if let replaced = try replacement(self) { return replaced }
        return try mappingChildren(
            expression: { (child) throws(E) in try child.replacing(replacement) },
            query: { (subquery) throws(E) in subquery })
    }

    /// Calls `body` on this node and every node below it, parents before children.
    public func forEach<E: Error>(intoSubqueries: Bool = true, _ body: (Expression) throws(E) -> Void) throws(E) {
        try body(self)
        try visitChildren(
            expression: { (child) throws(E) in try child.forEach(intoSubqueries: intoSubqueries, body) },
            query: { (subquery) throws(E) in
                if intoSubqueries { try subquery.forEachExpression(body) }
            })
    }

    /// True when this node or one below it satisfies `predicate`.
    public func contains(intoSubqueries: Bool = true, where predicate: (Expression) -> Bool) -> Bool {
        struct Found: Error {}
        do {
            try forEach(intoSubqueries: intoSubqueries) { (node) throws(Found) in if predicate(node) { throw Found() } }
            return false
        } catch {
            return true
        }
    }

    /// Calls `body` on every query nested in this expression, at any depth, outer queries first.
    public func forEachQueryInside<E: Error>(_ body: (Select) throws(E) -> Void) throws(E) {
        try forEach(intoSubqueries: false) { (node) throws(E) in
            for subquery in node.subqueries { try subquery.forEachQuery(body) }
        }
    }

    /// The direct child expressions, left to right.
    public var children: [Expression] {
        var found: [Expression] = []
        visitChildren(expression: { found.append($0) }, query: { _ in })
        return found
    }

    /// The queries directly inside this node (not those inside its children).
    public var subqueries: [Select] {
        var found: [Select] = []
        visitChildren(expression: { _ in }, query: { found.append($0) })
        return found
    }
}

/// A node that holds expressions and queries: the deep walks are written once, on `mappingParts`.
public protocol SyntaxContainer {
    /// This node rebuilt with `expression` applied to each expression it owns directly and `query`
    /// to each query it holds directly.
    func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> Self
}

extension SyntaxContainer {
    /// Applies `transform` bottom-up to every expression, at any depth (nested queries included):
    /// for replacing `$n` by values and `random()` or `now()` by literals before a statement
    /// leaves the gateway.
    public func rewritingExpressions<E: Error>(_ transform: (Expression) throws(E) -> Expression) throws(E) -> Self {
        try mappingParts(
            expression: { (node) throws(E) in try node.rewritten(intoSubqueries: true, transform) },
            query: { (nested) throws(E) in try nested.rewritingExpressions(transform) })
    }

    /// Calls `body` on every expression node, at any depth, parents first.
    public func forEachExpression<E: Error>(_ body: (Expression) throws(E) -> Void) throws(E) {
        _ = try mappingParts(
            expression: { (node) throws(E) in try node.forEach(intoSubqueries: true, body); return node },
            query: { (nested) throws(E) in try nested.forEachExpression(body); return nested })
    }

    /// Calls `body` on every query held at any depth (not on this node itself), outer ones first.
    public func forEachNestedQuery<E: Error>(_ body: (Select) throws(E) -> Void) throws(E) {
        _ = try mappingParts(
            expression: { (node) throws(E) in try node.forEachQueryInside(body); return node },
            query: { (nested) throws(E) in try nested.forEachQuery(body); return nested })
    }
}

extension Select: SyntaxContainer {
    /// This query rebuilt with `expression` applied to each expression it owns directly (select
    /// lists, WHERE, GROUP BY, HAVING, join conditions, VALUES rows, ORDER BY, LIMIT, OFFSET) and
    /// `query` to each query it holds directly (common tables, subqueries in FROM). Queries inside
    /// the owned expressions are the expression function's business.
    public func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> Select {
        var result = self
        for index in result.with.indices { result.with[index].query = try query(result.with[index].query) }
        result.body.first = try result.body.first.mappingParts(expression: expression, query: query)
        for index in result.body.compounds.indices {
            result.body.compounds[index].term = try result.body.compounds[index].term.mappingParts(expression: expression, query: query)
        }
        for index in result.orderBy.indices { result.orderBy[index].expression = try expression(result.orderBy[index].expression) }
        result.limit = try result.limit.map(expression)
        result.offset = try result.offset.map(expression)
        return result
    }

    /// Calls `body` on this query and every query nested in it (common tables, FROM subqueries and
    /// subqueries in expressions), outer queries first.
    public func forEachQuery<E: Error>(_ body: (Select) throws(E) -> Void) throws(E) {
        try body(self)
        try forEachNestedQuery(body)
    }

    /// The expressions this query owns directly, in source order per clause.
    public var ownedExpressions: [Expression] {
        var found: [Expression] = []
        _ = mappingParts(expression: { found.append($0); return $0 }, query: { $0 })
        return found
    }
}

extension QueryTerm {
    public func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> QueryTerm {
        switch self {
        case .values(var values):
            for row in values.rows.indices { values.rows[row] = try values.rows[row].map(expression) }
            return .values(values)
        case .select(var core):
            core.items = try core.items.map { (item) throws(E) in try item.mappingExpression(expression) }
            if let from = core.from { core.from = try from.mappingParts(expression: expression, query: query) }
            core.whereClause = try core.whereClause.map(expression)
            core.groupBy = try core.groupBy.map(expression)
            core.having = try core.having.map(expression)
            return .select(core)
        }
    }
}

extension SelectItem {
    public func mappingExpression<E: Error>(_ transform: (Expression) throws(E) -> Expression) throws(E) -> SelectItem {
        guard case .expression(let value, let alias) = self else { return self }
        return .expression(try transform(value), alias: alias)
    }
}

extension FromClause {
    public func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> FromClause {
        var result = self
        result.first = try first.mappingParts(expression: expression, query: query)
        for index in result.joins.indices {
            result.joins[index].table = try result.joins[index].table.mappingParts(expression: expression, query: query)
            if case .on(let condition) = result.joins[index].constraint {
                result.joins[index].constraint = .on(try expression(condition))
            }
        }
        return result
    }
}

extension TableReference {
    public func mappingParts<E: Error>(
        expression: (Expression) throws(E) -> Expression, query: (Select) throws(E) -> Select
    ) throws(E) -> TableReference {
        switch self {
        case .table: self
        case .subquery(let subquery, let alias, let location): .subquery(try query(subquery), alias: alias, location: location)
        case .nested(let from, let location): .nested(try from.mappingParts(expression: expression, query: query), location: location)
        }
    }
}
