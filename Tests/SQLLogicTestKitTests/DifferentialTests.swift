import MeshDB
import Testing
@testable import SQLLogicTestKit

/// The differential generator writes valid, deterministic queries with one right answer, and
/// the runner catches an engine that answers otherwise.
@Suite struct DifferentialTests {
    @Test func aSeedAlwaysWritesTheSameSchemaAndQueries() {
        var first = DifferentialGenerator(seed: 42), second = DifferentialGenerator(seed: 42), other = DifferentialGenerator(seed: 43)
        #expect(first.schema == second.schema)
        #expect(first.schema != other.schema)
        let queries = (0..<50).map { _ in first.nextQuery() }
        #expect(queries == (0..<50).map { _ in second.nextQuery() })
        #expect(queries != (0..<50).map { _ in other.nextQuery() })
    }

    /// Every statement the generator writes runs on SQLite without an error, and enough
    /// queries find rows to test something.
    @Test func everyGeneratedStatementRunsOnSQLite() async throws {
        var queries = 0, withRows = 0
        for seed in UInt64(1)...8 {
            var generator = DifferentialGenerator(seed: seed)
            let engine = try SQLiteReferenceEngine()
            for statement in generator.schema.statements(dialect: .sqlite) { _ = try await engine.execute(statement) }
            for _ in 0..<150 {
                let query = generator.nextQuery()
                let outcome = try await engine.execute(query.sql)
                guard case .rows(_, let rows) = outcome else {
                    Issue.record("no result set: \(query.sql)")
                    continue
                }
                queries += 1
                if !rows.isEmpty { withRows += 1 }
            }
        }
        #expect(queries == 1200)
        #expect(withRows * 100 / queries >= 40, "\(withRows) of \(queries) queries return rows")
    }

    /// Two SQLite databases loaded with the same rows in different orders agree on every query:
    /// no answer depends on row order, and ORDER BY ... LIMIT only follows a total order.
    @Test func twoSQLiteDatabasesLoadedInDifferentOrdersAgree() async throws {
        var options = DifferentialRunner.Options(seed: 2024, queries: 1500)
        options.queriesPerSchema = 150
        let report = await DifferentialRunner(options: options).run(reference: try SQLiteReferenceEngine(),
                                                                    candidate: try SQLiteReferenceEngine())
        #expect(report.passed, "\(report.summary)\n\(report.mismatches.map(\.description).joined(separator: "\n"))")
        #expect(report.queriesRun == 1500 && report.schemas == 10 && report.referenceErrorCount == 0)
        #expect(report.shapes.allSatisfy { $0.count > 50 }, "\(report.shapes)")
    }

    @Test func theQueriesUseEveryFeatureTheIssueAsksFor() {
        var generator = DifferentialGenerator(seed: 7)
        let text = (0..<1500).map { _ in generator.nextQuery().sql }.joined(separator: "\n")
        let features = [
            " INNER JOIN ", " LEFT JOIN ", " AS a0, t", " WHERE ", " AND ", " OR ", " NOT ", " BETWEEN ", " IN (", " LIKE ",
            " IS NULL", " IS NOT NULL", "count(*)", "count(a", "count(DISTINCT ", "sum(", "avg(", "min(", "max(", "total(",
            " GROUP BY ", " HAVING ", " ORDER BY ", " LIMIT ", " OFFSET ", "NULLS FIRST", "NULLS LAST", "SELECT DISTINCT ",
            " IN (SELECT ", "EXISTS (SELECT ", "(SELECT count(", "FROM (SELECT ", " UNION ", " UNION ALL ", " EXCEPT ",
            " INTERSECT ", "CASE WHEN ", "COALESCE(", " + ", " - ", " * ", " / ", " % ",
        ]
        for feature in features { #expect(text.contains(feature), "no query has \"\(feature)\"") }
    }

    @Test func theRowsHoldNullsDuplicatesNegativesAndText() {
        let tables = (UInt64(1)...20).flatMap { DifferentialGenerator(seed: $0).schema.tables }
        let values = tables.flatMap { $0.rows.flatMap { $0 } }
        #expect(values.contains(.null))
        #expect(values.contains { if case .integer(let x) = $0 { x < 0 } else { false } })
        #expect(values.contains { if case .real(let x) = $0 { x < 0 } else { false } })
        #expect(values.contains(.text("")) && values.contains(.text("it's")))
        #expect(tables.contains { table in Set(table.rows).count < table.rows.count })
        #expect(tables.contains { $0.rows.isEmpty })
        #expect(tables.contains { $0.columns.contains { $0.isPrimaryKey && $0.type == .integer } })
        #expect(tables.contains { $0.columns.contains { $0.isPrimaryKey && $0.type == .text } })
        #expect(tables.contains { !$0.columns.contains(where: \.isPrimaryKey) })
        #expect(Set(tables.map(\.columns.count)) == [2, 3, 4, 5])
    }

    @Test func eachEngineGetsItsOwnDDL() {
        let table = GeneratedTable(name: "t1", columns: [GeneratedColumn(name: "c0", type: .integer, isPrimaryKey: true),
                                                         GeneratedColumn(name: "c1", type: .text, isPrimaryKey: false)], rows: [])
        #expect(SchemaDialect.sqlite.createTable(table) == "CREATE TABLE t1 (c0 INTEGER PRIMARY KEY, c1 TEXT)")
        #expect(SQLTestEngineKind.meshdb.schemaDialect.createTable(table) == "CREATE TABLE t1 (c0 INTEGER PRIMARY KEY, c1 TEXT) SHARDS 8")
        let schema = GeneratedSchema(tables: [GeneratedTable(name: "t1", columns: table.columns,
                                                              rows: (0..<10).map { [.integer(Int64($0)), .text("it's")] })])
        let statements = schema.statements(dialect: .sqlite)
        #expect(statements.count == 3)
        #expect(statements[2] == "INSERT INTO t1 (c0, c1) VALUES (8, 'it''s'), (9, 'it''s')")
    }

    /// A test that can fail: a candidate that stores every column as TEXT answers differently,
    /// and each mismatch replays alone from its seed and index.
    @Test func anEngineThatAnswersOtherwiseIsCaughtAndItsMismatchesReplay() async throws {
        var options = DifferentialRunner.Options(seed: 99, queries: 300)
        options.queriesPerSchema = 100
        options.candidateDialect = SchemaDialect { table in
            "CREATE TABLE \(table.name) (" + table.columns.map { "\($0.name) TEXT" }.joined(separator: ", ") + ")"
        }
        let report = await DifferentialRunner(options: options).run(reference: try SQLiteReferenceEngine(),
                                                                    candidate: try SQLiteReferenceEngine())
        #expect(!report.passed && report.mismatchCount > 10 && report.mismatches.count == 10 && report.referenceErrorCount == 0)
        let first = try #require(report.mismatches.first)
        #expect(first.description.contains(first.replayCommand) && first.description.contains(first.query.sql))
        #expect(first.description.contains("CREATE TABLE t1"))
        options.onlyQuery = first.queryIndex
        let replay = await DifferentialRunner(options: options).run(reference: try SQLiteReferenceEngine(),
                                                                    candidate: try SQLiteReferenceEngine())
        #expect(replay.queriesRun == 1 && replay.mismatches.first?.query == first.query && replay.mismatches.first?.reason == first.reason)
    }

    @Test func numbersCompareByValueWithinTheTolerance() {
        let equal: [(SQLiteValue, SQLiteValue)] = [
            (.integer(3), .real(3)), (.real(0.1 + 0.2), .real(0.3)), (.real(1e12), .real(1e12 + 1e-1)), (.null, .null),
            (.real(5.551115123125783e-17), .real(0)),
        ]
        let different: [(SQLiteValue, SQLiteValue)] = [
            (.integer(3), .real(3.000001)), (.real(1e12), .real(1e12 + 1e4)), (.integer(1), .text("1")), (.null, .integer(0)),
            (.text("a"), .text("A")), (.integer(1), .integer(2)),
        ]
        for (a, b) in equal { #expect(DifferentialComparator.valuesEqual(a, b) && DifferentialComparator.valuesEqual(b, a), "\(a) \(b)") }
        for (a, b) in different { #expect(!DifferentialComparator.valuesEqual(a, b) && !DifferentialComparator.valuesEqual(b, a), "\(a) \(b)") }
    }

    @Test func unorderedResultsCompareAsMultisetsAndOrderedOnesInOrder() {
        let a: SQLTestOutcome = .rows(columns: ["x", "y"], rows: [[1, "a"], [2, nil], [1, "a"]])
        let shuffled: SQLTestOutcome = .rows(columns: ["o0", "o1"], rows: [[2, nil], [.real(1.0), "a"], [1, "a"]])
        let fewerDuplicates: SQLTestOutcome = .rows(columns: ["x", "y"], rows: [[1, "a"], [2, nil], [2, nil]])
        #expect(DifferentialComparator.difference(a, shuffled, ordered: false) == nil)
        #expect(DifferentialComparator.difference(a, shuffled, ordered: true) == "row 1 of the ordered result: (1, 'a') vs (2, NULL)")
        #expect(DifferentialComparator.difference(a, fewerDuplicates, ordered: false) != nil)
        #expect(DifferentialComparator.difference(a, .rows(columns: ["x", "y"], rows: [[1, "a"]]), ordered: false) == "row count: 3 vs 1")
        #expect(DifferentialComparator.difference(a, .rowsChanged(3), ordered: false) != nil)
        // Sums a hair apart sort in another order: still the same multiset.
        let sums: SQLTestOutcome = .rows(columns: ["s", "k"], rows: [[.real(0.3), "a"], [.real(0.30000000000000004), "b"]])
        let sumsOtherWay: SQLTestOutcome = .rows(columns: ["s", "k"], rows: [[.real(0.30000000000000004), "a"], [.real(0.3), "b"]])
        #expect(DifferentialComparator.difference(sums, sumsOtherWay, ordered: false) == nil)
    }
}
