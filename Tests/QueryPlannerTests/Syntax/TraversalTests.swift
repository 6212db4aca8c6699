import Testing
import QueryPlanner

/// The walks the planner uses: collecting columns and aggregates per query level, finding
/// subqueries, and rewriting parameters and non-deterministic calls into literals.
@Suite struct TraversalTests {
    static let query = """
        SELECT a + $1, (SELECT max(b) FROM s WHERE s.k = t.k AND s.v > $2)
        FROM t JOIN (SELECT k, random() AS r FROM u) AS x ON x.k = t.k
        WHERE t.c IN (SELECT c FROM w WHERE w.d = $1) AND t.e < now()
        ORDER BY count(*)
        """

    func columns(_ expression: Expression, intoSubqueries: Bool) -> [String] {
        var names: [String] = []
        expression.forEach(intoSubqueries: intoSubqueries) { node in
            if case .column(let reference) = node.kind {
                names.append([reference.table?.name, reference.column.name].compactMap { $0 }.joined(separator: "."))
            }
        }
        return names
    }

    @Test func walksStayAtOneQueryLevelOrEnterSubqueries() throws {
        let expression = try Parser.parseExpression("a + (SELECT max(b) FROM s WHERE s.k = t.k) + c")
        #expect(columns(expression, intoSubqueries: false) == ["a", "c"])
        #expect(columns(expression, intoSubqueries: true) == ["a", "b", "s.k", "t.k", "c"])
        #expect(expression.contains(intoSubqueries: false) { if case .function = $0.kind { true } else { false } } == false)
        #expect(expression.contains(intoSubqueries: true) { if case .function = $0.kind { true } else { false } })
    }

    @Test func childrenAndSubqueriesAreTheDirectOnes() throws {
        let expression = try Parser.parseExpression("x BETWEEN 1 AND (SELECT 2)")
        #expect(expression.children.count == 3)
        #expect(expression.subqueries.isEmpty)
        #expect(expression.children[2].subqueries.count == 1)
        #expect(try Parser.parseExpression("EXISTS (SELECT 1)").children.isEmpty)
    }

    /// `visitChildren` (the read-only walks) and `mappingChildren` (the rewrites) meet the same
    /// children in the same order, for every kind of node.
    @Test func visitingAndMappingMeetTheSameChildren() throws {
        let kinds = ["1", "a", "$1", "CURRENT_TIMESTAMP", "-a", "NOT a", "a + b * 2", "a IS NULL", "a IS NOT NULL",
                     "a BETWEEN b AND c", "a NOT BETWEEN 1 AND 2", "a IN (1, b, c)", "a IN (SELECT 1)", "EXISTS (SELECT 2)",
                     "(SELECT 3)", "a LIKE b ESCAPE c", "a ILIKE 'x%'", "CASE a WHEN 1 THEN b WHEN c THEN 2 ELSE d END",
                     "CASE WHEN a THEN b END", "CAST(a AS text)", "f(a, b, (SELECT 4))", "count(*)", "a || b"]
        var compared = 0
        for text in kinds {
            let expression = try Parser.parseExpression(text)
            var mapped: [String] = []
            _ = expression.mappingChildren(expression: { mapped.append("e " + SQLiteRenderer.render($0)); return $0 },
                                           query: { mapped.append("q " + SQLiteRenderer.render($0)); return $0 })
            var visited: [String] = []
            expression.visitChildren(expression: { visited.append("e " + SQLiteRenderer.render($0)) },
                                     query: { visited.append("q " + SQLiteRenderer.render($0)) })
            #expect(visited == mapped, "\(text)")
            #expect(expression.children.map { "e " + SQLiteRenderer.render($0) } == mapped.filter { $0.hasPrefix("e ") }, "\(text)")
            #expect(expression.subqueries.map { "q " + SQLiteRenderer.render($0) } == mapped.filter { $0.hasPrefix("q ") }, "\(text)")
            compared += mapped.isEmpty ? 0 : 1
        }
        #expect(compared == kinds.count - 5, "every kind but the leaves and count(*) has children")
    }

    @Test func rewritingReplacesParametersAndClockCallsEverywhere() throws {
        let statement = try Parser.parseStatement(Self.query)
        let bound = statement.rewritingExpressions { node in
            switch node.kind {
            case .parameter(let number): .literal(.integer(Int64(number * 100)), at: node.location)
            case .function(let call) where ["random", "now"].contains(call.name.name): .literal(.real(0.5), at: node.location)
            // now() parses as CURRENT_TIMESTAMP.
            case .currentTime: .literal(.real(0.5), at: node.location)
            default: node
            }
        }
        #expect(SQLiteRenderer.render(bound) == """
            SELECT a + 100, (SELECT max(b) FROM s WHERE (s.k = t.k) AND (s.v > 200)) \
            FROM t JOIN (SELECT k, 0.5 AS r FROM u) AS x ON x.k = t.k \
            WHERE (t.c IN (SELECT c FROM w WHERE w.d = 100)) AND (t.e < 0.5) ORDER BY count(*)
            """)
        var parameters = 0
        bound.forEachExpression { if case .parameter = $0.kind { parameters += 1 } }
        #expect(parameters == 0)
    }

    @Test func rewritingIsBottomUp() throws {
        // Folding constants bottom-up sees folded children: ((1 + 2) + 3) becomes 6 in one pass.
        let folded = try Parser.parseExpression("(1 + 2) + 3").rewritten { node in
            guard case .binary(.add, let left, let right) = node.kind,
                  case .literal(.integer(let a)) = left.kind, case .literal(.integer(let b)) = right.kind else { return node }
            return .literal(.integer(a + b))
        }
        #expect(folded == .literal(.integer(6)))
    }

    @Test func everyQueryIsVisitedOuterFirst() throws {
        let statement = try Parser.parseStatement(Self.query)
        var sources: [String] = []
        statement.forEachQuery { query in
            guard case .select(let core) = query.body.first, case .table(let table)? = core.from?.first else { return }
            sources.append(table.name.name)
        }
        #expect(sources == ["t", "s", "u", "w"])
    }

    @Test func statementsExposeTheExpressionsTheyOwn() throws {
        let statement = try Parser.parseStatement(
            "INSERT INTO t VALUES ($1, now()) ON CONFLICT (a) DO UPDATE SET b = $2 WHERE t.c > $3 RETURNING $4")
        var parameters: [Int] = []
        statement.forEachExpression { if case .parameter(let number) = $0.kind { parameters.append(number) } }
        #expect(parameters == [1, 2, 3, 4])

        let table = try Parser.parseStatement("CREATE TABLE t (a INT DEFAULT $1 CHECK (a > $2), CHECK (a < $3))")
        parameters = []
        table.forEachExpression { if case .parameter(let number) = $0.kind { parameters.append(number) } }
        #expect(parameters == [1, 2, 3])
    }

    @Test func ownedExpressionsExcludeNestedQueries() throws {
        guard case .select(let query) = try Parser.parseStatement(
            "WITH c AS (SELECT z FROM q) SELECT a FROM t, (SELECT y FROM s) WHERE b GROUP BY a HAVING c ORDER BY d LIMIT 1") else {
            Issue.record("expected SELECT")
            return
        }
        #expect(query.ownedExpressions.map(SQLiteRenderer.render) == ["a", "b", "a", "c", "d", "1"])
    }

    @Test func aThrowingTransformStopsTheWalk() throws {
        struct Refused: Error {}
        let expression = try Parser.parseExpression("a + random()")
        #expect(throws: Refused.self) {
            _ = try expression.rewritten { (node) throws(Refused) in
                if case .function = node.kind { throw Refused() }
                return node
            }
        }
    }
}
