import QueryPlanner
import Testing

/// Key literals leave the pushed SQL as parameters; nothing else does.
struct KeyLiteralBindingTests {
    struct Catalog: PlannerCatalog {
        static func column(_ name: String, _ type: String) -> PlannerColumn {
            PlannerColumn(name: name, declaredType: type, sqliteType: type.uppercased(), isBlob: false, notNull: false)
        }

        let tables = [
            PlannerTable(name: "accounts", columns: [column("aid", "integer"), column("abalance", "integer"), column("name", "text")],
                         primaryKey: ["aid"], shardKey: ["aid"], shardCount: 4),
            PlannerTable(name: "pairs", columns: [column("a", "text"), column("b", "integer"), column("v", "real")],
                         primaryKey: ["a", "b"], shardKey: ["a", "b"], shardCount: 4),
        ]

        func table(named name: String) -> PlannerTable? { tables.first { $0.name == name } }
        func view(named name: String) -> PlannerView? { nil }
        func shard(of table: PlannerTable, key: [PlannerValue]) -> Int { 0 }
    }

    func plan(_ sql: String, parameters: [PlannerValue] = []) throws -> SelectPlan {
        guard case .select(let select) = try Parser.parseStatements(sql)[0] else { throw SQLError(.syntaxError, "not a SELECT") }
        return try SelectPlanner(catalog: Catalog(), parameters: parameters).plan(select)
    }

    @Test func aPointLookupSendsItsKeyAsAParameter() throws {
        let plan = try plan("SELECT abalance FROM accounts WHERE aid = 4711")
        #expect(plan.strategy == .pointLookup)
        #expect(plan.steps[0].sql == "SELECT abalance FROM accounts WHERE aid = ?1")
        #expect(plan.steps[0].boundLiterals == [.integer(4711)])
        #expect(plan.explain().contains("       Key literals bound: ?1 = 4711"))
        // Another key, the same text: one prepared statement on every replica.
        #expect(try self.plan("SELECT abalance FROM accounts WHERE aid = 12").steps[0].sql == plan.steps[0].sql)
    }

    @Test func literalsAfterTheStatementsOwnParametersKeepTheirOrder() throws {
        let plan = try plan("SELECT v FROM pairs WHERE a = 'x' AND b = $1 OR (b BETWEEN 2 AND 3 AND a IN ('p', 'q'))", parameters: [.integer(9)])
        #expect(plan.steps[0].parameterCount == 1)
        #expect(plan.steps[0].sql.contains("a = ?2") && plan.steps[0].sql.contains("b = ?1"))
        #expect(plan.steps[0].sql.contains("BETWEEN ?3 AND ?4") && plan.steps[0].sql.contains("IN (?5, ?6)"))
        #expect(plan.steps[0].boundLiterals == [.text("x"), .integer(2), .integer(3), .text("p"), .text("q")])
    }

    @Test func onlyKeyComparisonsAreBound() throws {
        // A non-key column (a partial index's predicate may need its literal), a select-list
        // literal (it names its column), ORDER BY 1 (a position), LIMIT: all stay in the text.
        let plan = try plan("SELECT 7, name FROM accounts WHERE abalance > 100 AND name = 'n' AND NOT aid <> 5 ORDER BY 1 LIMIT 3")
        #expect(plan.steps[0].boundLiterals == [.integer(5)])
        #expect(plan.steps[0].sql.contains("abalance > 100") && plan.steps[0].sql.contains("name = 'n'"))
        #expect(plan.steps[0].sql.contains("aid <> ?1"))
        #expect(!plan.steps[0].sql.contains("?2"))
        // NULL, booleans and negative numbers (an operator over a literal) stay too.
        #expect(try self.plan("SELECT * FROM accounts WHERE aid = -3 OR aid IS NULL").steps[0].boundLiterals == [])
    }

    @Test func atMostValuesMaxLiteralsAreBound() throws {
        let list = (1...100).map(String.init).joined(separator: ", ")
        let plan = try plan("SELECT * FROM accounts WHERE aid IN (\(list))")
        #expect(plan.steps[0].boundLiterals.count == 64)
        #expect(plan.steps[0].sql.contains("?64, 65, 66"))
    }
}
