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
        // NULL and booleans stay too; a negated number is bound as the negative value.
        let negative = try self.plan("SELECT * FROM accounts WHERE aid = -3 OR aid IS NULL OR aid = TRUE OR aid = - name")
        #expect(negative.steps[0].boundLiterals == [.integer(-3)])
        #expect(negative.steps[0].sql.contains("aid = ?1") && negative.steps[0].sql.contains("aid IS NULL"))
        #expect(negative.steps[0].sql.contains("-name") || negative.steps[0].sql.contains("- name"))
    }

    func bind(_ sql: String, keyColumns: Set<String> = ["aid"], parameterCount: Int = 0) throws -> (sql: String, values: [PlannerValue]) {
        let (statement, values) = KeyLiteralBinding.bind(try Parser.parseStatements(sql)[0], keyColumns: keyColumns, parameterCount: parameterCount)
        return (SQLiteRenderer.render(statement), values)
    }

    @Test func anUpdateSendsItsKeyAndItsSetLiteralsAsParameters() throws {
        // pgbench's UPDATE: every account and delta, one text.
        let update = try bind("UPDATE accounts SET abalance = abalance + -1234 WHERE aid = 4711")
        #expect(update.sql == "UPDATE accounts SET abalance = abalance + ?1 WHERE aid = ?2")
        #expect(update.values == [.integer(-1234), .integer(4711)])
        #expect(try bind("UPDATE accounts SET abalance = abalance + 99 WHERE aid = 12").sql == update.sql)
        // Whole values, arithmetic and || are bound; after the statement's own parameters.
        let mixed = try bind("UPDATE accounts SET name = 'n' || name || $1, abalance = (abalance * 2.5) % 7 WHERE aid IN (1, 2) AND name = 'x'",
                             parameterCount: 1)
        #expect(mixed.values == [.text("n"), .real(2.5), .integer(7), .integer(1), .integer(2)])
        #expect(mixed.sql == "UPDATE accounts SET name = (?2 || name) || ?1, abalance = (abalance * ?3) % ?4 WHERE (aid IN (?5, ?6)) AND (name = 'x')")
        // A non-key comparison in WHERE stays (above), and so do literals under a function,
        // NULL and booleans in SET.
        let kept = try bind("UPDATE accounts SET name = upper('a'), abalance = NULL, other = TRUE WHERE abalance = 3")
        #expect(kept.values.isEmpty)
        #expect(kept.sql.contains("upper('a')") && kept.sql.contains("abalance = 3"))
    }

    @Test func aDeleteBindsOnlyItsKeyComparisons() throws {
        let delete = try bind("DELETE FROM accounts WHERE aid = 5 AND abalance < 0")
        #expect(delete.sql == "DELETE FROM accounts WHERE (aid = ?1) AND (abalance < 0)")
        #expect(delete.values == [.integer(5)])
        // Without a primary key, nothing is bound; an INSERT is left alone.
        #expect(try bind("DELETE FROM accounts WHERE aid = 5", keyColumns: []).values.isEmpty)
        #expect(try bind("INSERT INTO accounts VALUES (1, 2, 'x')").values.isEmpty)
    }

    @Test func atMostValuesMaxLiteralsAreBound() throws {
        let list = (1...100).map(String.init).joined(separator: ", ")
        let plan = try plan("SELECT * FROM accounts WHERE aid IN (\(list))")
        #expect(plan.steps[0].boundLiterals.count == 64)
        #expect(plan.steps[0].sql.contains("?64, 65, 66"))
    }
}
