/// The query shapes (`QueryShape`), built from the expressions.
extension DifferentialGenerator {
    /// A query's text with the types of its output columns o0, o1, ...
    struct Built {
        let sql: String
        let outputs: [GeneratedType]
        let isOrdered: Bool
    }

    // MARK: Shapes

    mutating func simpleSelect() -> GeneratedQuery {
        query(buildSelect(sources: [source()]), .select)
    }

    mutating func joinSelect() -> GeneratedQuery {
        query(buildSelect(sources: nil), .join)
    }

    /// Aggregates without GROUP BY: exactly one row.
    mutating func aggregateSelect() -> GeneratedQuery {
        let from = fromClause(tables: random.percent(70) ? 1 : 2)
        let scope = Scope(sources: from.sources)
        let aggregates = (0..<random.int(in: 1...3)).map { _ in aggregateExpression(in: scope) }
        let sql = "SELECT \(selectList(aggregates)) FROM \(from.sql)\(whereClause(from.conditions, scope: scope, percent: 70))"
        return GeneratedQuery(sql: sql, isOrdered: false, shape: .aggregate)
    }

    mutating func groupedSelect() -> GeneratedQuery {
        query(buildGrouped(), .groupBy)
    }

    /// `SELECT ... FROM (inner) AS s ...`, the inner query a plain or a grouped one, perhaps with
    /// its own ORDER BY and LIMIT.
    mutating func subqueryInFrom() -> GeneratedQuery {
        let inner = random.percent(50) ? buildSelect(sources: [source()]) : buildGrouped()
        let table = GeneratedTable(
            name: "subquery", columns: inner.outputs.enumerated().map { GeneratedColumn(name: "o\($0)", type: $1, isPrimaryKey: false) },
            rows: [])
        return query(buildSelect(sources: [Source(alias: newAlias(), table: table, subquery: inner.sql)]), .fromSubquery)
    }

    /// Two or three selects of matching column types joined by UNION [ALL], EXCEPT, INTERSECT.
    mutating func compoundSelect() -> GeneratedQuery {
        let types = (0..<random.int(in: 1...2)).map { _ in random.element(of: GeneratedType.allCases) }
        let memberCount = random.percent(75) ? 2 : 3
        // INTERSECT binds tighter than UNION and EXCEPT in PostgreSQL, not in SQLite: with three
        // members, only operators both read left to right.
        let operators = memberCount == 2 ? ["UNION", "UNION ALL", "EXCEPT", "INTERSECT"] : ["UNION", "UNION ALL", "EXCEPT"]
        var sql = ""
        for member in 0..<memberCount {
            let from = source()
            let scope = Scope(sources: [from])
            let items = types.map { scalar($0, in: scope, depth: random.percent(70) ? 0 : 1) }
            if member > 0 { sql += " \(random.element(of: operators)) " }
            sql += "SELECT \(selectList(items)) FROM \(from.fromItem)\(whereClause([], scope: scope, percent: 60))"
        }
        let order = orderAndLimit(positions: Array(types.indices))
        return GeneratedQuery(sql: sql + order.sql, isOrdered: order.isOrdered, shape: .compound)
    }

    /// A correlated scalar subquery (an aggregate) beside the columns of each row.
    mutating func scalarSubquerySelect() -> GeneratedQuery {
        let from = source()
        let scope = Scope(sources: [from])
        var items = selectItems(in: scope, count: 1...2)
        items.insert(scalarSubquery(in: scope), at: random.int(in: 0...items.count))
        let order = orderAndLimit(positions: Array(items.indices))
        let sql = "SELECT \(selectList(items)) FROM \(from.fromItem)\(whereClause([], scope: scope, percent: 50))\(order.sql)"
        return GeneratedQuery(sql: sql, isOrdered: order.isOrdered, shape: .scalarSubquery)
    }

    // MARK: Building blocks

    func query(_ built: Built, _ shape: QueryShape) -> GeneratedQuery {
        GeneratedQuery(sql: built.sql, isOrdered: built.isOrdered, shape: shape)
    }

    /// `SELECT [DISTINCT] items FROM sources [WHERE ...] [ORDER BY every output [LIMIT [OFFSET]]]`;
    /// `sources` nil: a join of two or three tables.
    mutating func buildSelect(sources: [Source]?) -> Built {
        let from = sources.map { (sql: $0.map(\.fromItem).joined(separator: ", "), sources: $0, conditions: [String]()) }
            ?? fromClause(tables: random.percent(75) ? 2 : 3)
        let scope = Scope(sources: from.sources)
        let items = selectItems(in: scope, count: 1...4)
        let distinct = random.percent(20) ? "DISTINCT " : ""
        let filter = whereClause(from.conditions, scope: scope, percent: 75)
        let order = orderAndLimit(positions: Array(items.indices))
        return Built(sql: "SELECT \(distinct)\(selectList(items)) FROM \(from.sql)\(filter)\(order.sql)",
                     outputs: items.map(\.type), isOrdered: order.isOrdered)
    }

    /// `SELECT keys, aggregates FROM ... GROUP BY keys [HAVING ...] [ORDER BY every key [LIMIT]]`.
    mutating func buildGrouped() -> Built {
        let from = fromClause(tables: random.percent(70) ? 1 : 2)
        let scope = Scope(sources: from.sources)
        var keys: [Expression] = []
        for _ in 0..<random.int(in: 1...2) {
            let candidate = random.element(of: scope.columns)
            if !keys.contains(where: { $0.sql == candidate.sql }) { keys.append(Expression(sql: candidate.sql, type: candidate.type)) }
        }
        let aggregates = (0..<random.int(in: 1...3)).map { _ in aggregateExpression(in: scope) }
        var sql = "SELECT \(selectList(keys + aggregates)) FROM \(from.sql)\(whereClause(from.conditions, scope: scope, percent: 60))"
        sql += " GROUP BY " + keys.map(\.sql).joined(separator: ", ")
        if random.percent(35) { sql += " HAVING " + havingPredicate(in: scope, depth: 1) }
        // Groups are unique by their keys: ordering by every key is a total order.
        let order = orderAndLimit(positions: Array(keys.indices))
        return Built(sql: sql + order.sql, outputs: (keys + aggregates).map(\.type), isOrdered: order.isOrdered)
    }

    /// `t1 AS a0 [INNER|LEFT] JOIN t2 AS a1 ON ...`, or with commas and the equalities for WHERE.
    /// Commas are used for every join of a query or for none: `a, b JOIN c ON a.x = c.y` is an
    /// error in PostgreSQL, where the JOIN binds first and `a` is out of its reach.
    mutating func fromClause(tables: Int) -> (sql: String, sources: [Source], conditions: [String]) {
        var sources = [source()]
        var sql = sources[0].fromItem
        var conditions: [String] = []
        let commas = tables > 1 && random.percent(30)
        for _ in 1..<tables {
            let next = source()
            let equality = joinEquality(random.element(of: sources), next)
            if commas {
                sql += ", " + next.fromItem
                conditions.append(equality)
            } else {
                let kind = random.percent(50) ? "INNER JOIN" : "LEFT JOIN"
                var on = equality
                if random.percent(30) {
                    on += " AND " + predicate(in: Scope(sources: [next]), depth: 0, subqueries: false)
                }
                sql += " \(kind) \(next.fromItem) ON \(on)"
            }
            sources.append(next)
        }
        return (sql, sources, conditions)
    }

    /// `left.x = right.y` for two columns of one type class (c0, an INTEGER, is always there).
    mutating func joinEquality(_ left: Source, _ right: Source) -> String {
        let pairs = left.columns.flatMap { l in
            right.columns.filter { $0.type.isNumeric == l.type.isNumeric }.map { (l.sql, $0.sql) }
        }
        let pair = random.element(of: pairs)
        return "\(pair.0) = \(pair.1)"
    }

    /// Items of a select list over `scope`: mostly columns, some expressions.
    mutating func selectItems(in scope: Scope, count: ClosedRange<Int>) -> [Expression] {
        (0..<random.int(in: count)).map { _ in
            if random.percent(60) {
                let column = random.element(of: scope.ownColumns)
                return Expression(sql: column.sql, type: column.type)
            }
            return scalar(random.element(of: GeneratedType.allCases), in: scope, depth: 2)
        }
    }

    func selectList(_ items: [Expression]) -> String {
        items.enumerated().map { "\($1.sql) AS o\($0)" }.joined(separator: ", ")
    }

    /// " WHERE ..." from `conditions` (join equalities) and, `percent` % of the time, a predicate.
    mutating func whereClause(_ conditions: [String], scope: Scope, percent: Int) -> String {
        var conditions = conditions
        if random.percent(percent) { conditions.append(predicate(in: scope, depth: 2, subqueries: true)) }
        return conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    /// Sometimes " ORDER BY" the outputs at `positions` (each ASC or DESC, NULLS FIRST or LAST
    /// said outright), then sometimes LIMIT and OFFSET; the caller makes sure the positions
    /// order the rows totally.
    mutating func orderAndLimit(positions: [Int]) -> (sql: String, isOrdered: Bool) {
        guard random.percent(45) else { return ("", false) }
        let terms = random.shuffled(positions).map { position in
            "o\(position) \(random.percent(50) ? "ASC" : "DESC") NULLS \(random.percent(50) ? "FIRST" : "LAST")"
        }
        var sql = " ORDER BY " + terms.joined(separator: ", ")
        if random.percent(60) {
            sql += " LIMIT \(random.int(in: 1...8))"
            if random.percent(40) { sql += " OFFSET \(random.int(in: 1...4))" }
        }
        return (sql, true)
    }
}
