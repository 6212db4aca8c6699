import MeshDB

/// Typed expressions and predicates: both sides of a comparison, the branches of a CASE and
/// the arguments of COALESCE have one type class (numbers or text), so every query also means
/// the same under a typed (PostgreSQL-like) binder.
extension DifferentialGenerator {
    /// A literal of `type` from the data's domains, never NULL.
    mutating func literal(_ type: GeneratedType) -> Expression {
        Expression(sql: SQLLiteral.operand(Self.value(of: type, &random, nullPercent: 0)), type: type)
    }

    /// A column of `scope` of `type` (any number when `type` is numeric and `numeric` is set).
    mutating func column(_ type: GeneratedType, in scope: Scope, numeric: Bool = false, ownOnly: Bool = false) -> Expression? {
        let columns = (ownOnly ? scope.ownColumns : scope.columns).filter { numeric ? $0.type.isNumeric : $0.type == type }
        guard !columns.isEmpty else { return nil }
        let column = random.element(of: columns)
        return Expression(sql: column.sql, type: column.type)
    }

    /// A column or a literal: the leaves.
    mutating func leaf(_ type: GeneratedType, in scope: Scope) -> Expression {
        if random.percent(85), let column = column(type, in: scope) { return column }
        return literal(type)
    }

    /// An expression of exactly `type`, at most `depth` operators deep.
    mutating func scalar(_ type: GeneratedType, in scope: Scope, depth: Int) -> Expression {
        guard depth > 0, random.percent(40) else { return leaf(type, in: scope) }
        let operand = { (generator: inout DifferentialGenerator) in generator.scalar(type, in: scope, depth: depth - 1) }
        let choice = random.int(in: 0...5)
        if choice == 0 {
            let condition = simpleCondition(in: scope)
            return Expression(sql: "CASE WHEN \(condition) THEN \(operand(&self).sql) ELSE \(operand(&self).sql) END", type: type)
        }
        if choice == 1, let column = column(type, in: scope) {
            return Expression(sql: "COALESCE(\(column.sql), \(literal(type).sql))", type: type)
        }
        switch type {
        case .integer:
            let a = operand(&self).sql
            return Expression(sql: random.weighted([
                (3, "(\(a) + \(operand(&self).sql))"),
                (3, "(\(a) - \(operand(&self).sql))"),
                (2, "(\(a) * \(random.int(in: 2...5)))"),
                (1, "(\(a) / \(random.int(in: 2...5)))"),
                (1, "(\(a) % \(random.int(in: 2...5)))"),
                (1, "abs(\(a))"),
                (1, "length(\(scalar(.text, in: scope, depth: depth - 1).sql))"),
            ]), type: .integer)
        case .real:
            let a = operand(&self).sql
            let number = scalar(random.element(of: [.integer, .real]), in: scope, depth: depth - 1).sql
            return Expression(sql: random.weighted([
                (3, "(\(a) + \(number))"),
                (2, "(\(a) - \(number))"),
                (2, "(\(number) * 0.5)"),
                (1, "(\(a) / 4.0)"),
                (1, "abs(\(a))"),
            ]), type: .real)
        case .text:
            let a = operand(&self).sql
            return Expression(sql: random.weighted([
                (2, "upper(\(a))"),
                (2, "lower(\(a))"),
                (2, "(\(a) || \(operand(&self).sql))"),
                (1, "substr(\(a), 1, 2)"),
            ]), type: .text)
        }
    }

    /// A column compared with a literal, or tested for NULL: the condition of a CASE, kept
    /// shallow so that expressions and predicates do not nest each other without end.
    mutating func simpleCondition(in scope: Scope) -> String {
        let type = random.element(of: GeneratedType.allCases)
        let column = column(type, in: scope) ?? leaf(.integer, in: scope)
        if random.percent(25) { return "\(column.sql) IS \(random.percent(50) ? "NOT " : "")NULL" }
        return "\(column.sql) \(random.element(of: Self.comparisons)) \(literal(column.type).sql)"
    }

    static let comparisons = ["=", "<>", "<", "<=", ">", ">="]
    static let likePatterns = ["a%", "%a%", "_b%", "%", "A%", "b_", "%n%", "ab", "_", "%\u{e9}"]

    /// A condition over `scope`, at most `depth` AND/OR/NOT deep; `subqueries` allows EXISTS,
    /// IN (SELECT ...) and comparisons with a scalar subquery.
    mutating func predicate(in scope: Scope, depth: Int, subqueries: Bool) -> String {
        var choices: [(weight: Int, value: Int)] = [(30, 0), (8, 1), (8, 2), (6, 3), (8, 4)]
        if depth > 0 { choices += [(14, 5), (3, 6)] }
        if subqueries { choices += [(5, 7), (5, 8), (4, 9)] }
        let type = random.element(of: GeneratedType.allCases)
        switch random.weighted(choices) {
        case 0:
            // A column on the left most of the time: literals on both sides test little.
            let left = (random.percent(60) ? column(type, in: scope) : nil) ?? scalar(type, in: scope, depth: 1)
            let right = random.percent(50) ? literal(type) : scalar(type, in: scope, depth: 1)
            return "\(left.sql) \(random.element(of: Self.comparisons)) \(right.sql)"
        case 1:
            let low = literal(type).sql, high = literal(type).sql
            return "\(leaf(type, in: scope).sql) \(random.percent(20) ? "NOT " : "")BETWEEN \(low) AND \(high)"
        case 2:
            var items = (0..<random.int(in: 1...4)).map { _ in literal(type).sql }
            if random.percent(15) { items.append("NULL") }
            return "\(leaf(type, in: scope).sql) \(random.percent(25) ? "NOT " : "")IN (\(items.joined(separator: ", ")))"
        case 3:
            let pattern = SQLLiteral.operand(.text(random.element(of: Self.likePatterns)))
            return "\(scalar(.text, in: scope, depth: 1).sql) \(random.percent(20) ? "NOT " : "")LIKE \(pattern)"
        case 4:
            let column = column(type, in: scope) ?? leaf(.integer, in: scope)
            return "\(column.sql) IS \(random.percent(50) ? "NOT " : "")NULL"
        case 5:
            let left = predicate(in: scope, depth: depth - 1, subqueries: subqueries)
            let right = predicate(in: scope, depth: depth - 1, subqueries: subqueries)
            return "(\(left) \(random.percent(50) ? "AND" : "OR") \(right))"
        case 6:
            return "NOT (\(predicate(in: scope, depth: depth - 1, subqueries: subqueries)))"
        case 7:
            return existsPredicate(in: scope)
        case 8:
            return inSubqueryPredicate(in: scope)
        default:
            return scalarSubqueryComparison(in: scope)
        }
    }

    /// `[NOT] EXISTS (SELECT 1 FROM t AS x WHERE x.c = outer.c [AND ...])`: correlated on c0,
    /// which every table has.
    mutating func existsPredicate(in scope: Scope) -> String {
        let inner = source()
        let outerColumn = column(.integer, in: scope, numeric: true) ?? literal(.integer)
        var condition = "\(inner.alias).c0 \(random.element(of: ["=", "<", ">="])) \(outerColumn.sql)"
        if random.percent(50) {
            condition += " AND " + predicate(in: Scope(sources: [inner], outer: scope.sources + scope.outer), depth: 0, subqueries: false)
        }
        return "\(random.percent(25) ? "NOT " : "")EXISTS (SELECT 1 FROM \(inner.fromItem) WHERE \(condition))"
    }

    /// `x [NOT] IN (SELECT y FROM t AS a [WHERE ...])` with x and y of one type class.
    mutating func inSubqueryPredicate(in scope: Scope) -> String {
        let inner = source()
        let innerScope = Scope(sources: [inner], outer: scope.sources + scope.outer)
        let selected = random.percent(60) ? column(.integer, in: innerScope, numeric: true, ownOnly: true)!
            : (column(.text, in: innerScope, ownOnly: true) ?? column(.integer, in: innerScope, ownOnly: true)!)
        let probe = selected.type.isNumeric ? (column(.integer, in: scope, numeric: true) ?? literal(.integer)) : leaf(.text, in: scope)
        let filter = random.percent(60) ? " WHERE " + predicate(in: innerScope, depth: 0, subqueries: false) : ""
        return "\(probe.sql) \(random.percent(25) ? "NOT " : "")IN (SELECT \(selected.sql) FROM \(inner.fromItem)\(filter))"
    }

    /// `x <op> (SELECT aggregate FROM t AS a [WHERE ...])`: an aggregate returns one row.
    mutating func scalarSubqueryComparison(in scope: Scope) -> String {
        let subquery = scalarSubquery(in: scope)
        let probe = subquery.type.isNumeric ? scalar(.integer, in: scope, depth: 1) : leaf(.text, in: scope)
        return "\(probe.sql) \(random.element(of: Self.comparisons)) \(subquery.sql)"
    }

    /// `(SELECT aggregate FROM t AS a WHERE ...)`, correlated with `scope` half of the time.
    mutating func scalarSubquery(in scope: Scope) -> Expression {
        let inner = source()
        let innerScope = Scope(sources: [inner], outer: scope.sources + scope.outer)
        let aggregate = aggregateExpression(in: Scope(sources: [inner]), exactOnly: true)
        var conditions: [String] = []
        if random.percent(50), let outer = column(.integer, in: scope, numeric: true) {
            conditions.append("\(inner.alias).c0 = \(outer.sql)")
        }
        if random.percent(50) { conditions.append(predicate(in: innerScope, depth: 0, subqueries: false)) }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return Expression(sql: "(SELECT \(aggregate.sql) FROM \(inner.fromItem)\(filter))", type: aggregate.type)
    }

    /// One aggregate over `scope`: count(*), count(x), count(DISTINCT x), sum, avg, total, min,
    /// max. `exactOnly` leaves out sums and averages of reals, whose last bits depend on the
    /// order of addition: for results that are compared (HAVING, scalar subqueries).
    mutating func aggregateExpression(in scope: Scope, exactOnly: Bool = false) -> Expression {
        let anyType = random.element(of: GeneratedType.allCases)
        let any = random.percent(70) ? (column(anyType, in: scope) ?? leaf(.integer, in: scope)) : scalar(anyType, in: scope, depth: 1)
        let number = scalar(random.percent(50) ? .integer : .real, in: scope, depth: 1)
        let integer = column(.integer, in: scope) ?? literal(.integer)
        var choices: [(weight: Int, value: Expression)] = [
            (3, Expression(sql: "count(*)", type: .integer)),
            (2, Expression(sql: "count(\(any.sql))", type: .integer)),
            (2, Expression(sql: "count(DISTINCT \(any.sql))", type: .integer)),
            (2, Expression(sql: "sum(\(integer.sql))", type: .integer)),
            (2, Expression(sql: "min(\(any.sql))", type: any.type)),
            (2, Expression(sql: "max(\(any.sql))", type: any.type)),
        ]
        if !exactOnly {
            choices += [
                (2, Expression(sql: "sum(\(number.sql))", type: number.type)),
                (2, Expression(sql: "avg(\(number.sql))", type: .real)),
                (1, Expression(sql: "total(\(number.sql))", type: .real)),
            ]
        }
        return random.weighted(choices)
    }

    /// A HAVING condition on exact aggregates: counts, integer sums, min and max.
    mutating func havingPredicate(in scope: Scope, depth: Int) -> String {
        if depth > 0, random.percent(30) {
            let left = havingPredicate(in: scope, depth: depth - 1)
            return "(\(left) \(random.percent(50) ? "AND" : "OR") \(havingPredicate(in: scope, depth: depth - 1)))"
        }
        let aggregate = aggregateExpression(in: scope, exactOnly: true)
        let bound: String
        if aggregate.sql.hasPrefix("count") {
            bound = String(random.int(in: 0...4))
        } else {
            bound = literal(aggregate.type).sql
        }
        return "\(aggregate.sql) \(random.element(of: Self.comparisons)) \(bound)"
    }
}
