import MeshDB
import Testing
@testable import SQLLogicTestKit

/// The runner judges records as the reference's verify mode does, on the SQLite reference engine.
@Suite struct SQLLogicTestRunnerTests {
    func run(_ text: String, options: SQLLogicTestRunner.Options = .init(),
             engine: (any SQLTestEngine)? = nil) async throws -> SQLLogicTestFileReport {
        let script = try SQLLogicTestParser.parse(text, path: "unit.test")
        return await SQLLogicTestRunner(options: options).run(script, on: try engine ?? SQLiteReferenceEngine(endsQueriesAtStepErrors: true))
    }

    /// Lines 1–6; the records of a test start on line 7.
    static let table = "statement ok\nCREATE TABLE t1(a INTEGER, b TEXT)\n\nstatement ok\nINSERT INTO t1 VALUES(1, 'x'), (2, 'y'), (3, NULL)\n\n"

    @Test func matchingRecordsPass() async throws {
        let report = try await run(Self.table + """
            query IT rowsort
            SELECT a, b FROM t1
            ----
            1
            x
            2
            y
            3
            NULL

            statement error
            INSERT INTO missing VALUES(1)
            """)
        #expect(report.passed == 4 && report.failed == 0 && report.failures.isEmpty)
    }

    /// The test that can fail: a wrong expected value is reported with line, SQL and both sides.
    @Test func aWrongResultIsReportedWithWhatAPersonNeeds() async throws {
        let report = try await run(Self.table + """
            query I nosort
            SELECT a FROM t1 ORDER BY a
            ----
            1
            2
            4
            """)
        #expect(report.passed == 2 && report.failed == 1)
        #expect(report.failures == [SQLLogicTestFailure(path: "unit.test", line: 7, sql: "SELECT a FROM t1 ORDER BY a",
                                                        message: "wrong result", expected: ["1", "2", "4"], actual: ["1", "2", "3"])])
    }

    @Test func missingOrExtraRowsFailEvenWhereTheReferenceStopsComparing() async throws {
        let report = try await run(Self.table + """
            query I nosort
            SELECT a FROM t1 ORDER BY a
            ----
            1
            2

            query I nosort
            SELECT a FROM t1 WHERE a < 2
            ----
            1
            2
            """)
        #expect(report.failed == 2)
    }

    @Test func statementsFailWhenTheyDisagreeWithTheirExpectation() async throws {
        let report = try await run(Self.table + """
            statement error
            SELECT 1

            statement ok
            SELECT * FROM missing
            """)
        #expect(report.failed == 2)
        #expect(report.failures[0].message == "statement succeeded; an error was expected")
        #expect(report.failures[1].message.hasPrefix("statement failed: "))
        #expect(report.failures[1].message.contains("no such table: missing"))
    }

    @Test func queriesFailOnTheWrongColumnCountOrAnError() async throws {
        let report = try await run(Self.table + """
            query II nosort
            SELECT a FROM t1 WHERE a = 1
            ----
            1

            query I nosort
            SELECT nope FROM t1
            ----
            """)
        #expect(report.failures.map { String($0.message.prefix(30)) } == ["wrong number of result columns", "query failed: SQLite error 1/1"])
    }

    @Test func resultsOverTheThresholdCompareByHash() async throws {
        let report = try await run(Self.table + """
            hash-threshold 2

            query I rowsort
            SELECT a FROM t1
            ----
            3 values hashing to c0710d6b4f15dfa88f600b0e6b624077

            query I rowsort
            SELECT a FROM t1
            ----
            1
            2
            3
            """)
        #expect(report.passed == 3 && report.failed == 1)
        #expect(report.failures.first?.message == "wrong result hash")
        #expect(report.failures.first?.actual == ["3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"])
    }

    @Test func queriesWithOneLabelMustAgree() async throws {
        let report = try await run(Self.table + """
            query I rowsort label-a
            SELECT a FROM t1
            ----
            1
            2
            3

            query I rowsort label-a
            SELECT a + 0 FROM t1 ORDER BY 1
            ----
            1
            2
            3

            query I rowsort label-a
            SELECT a + 1 FROM t1
            ----
            2
            3
            4
            """)
        #expect(report.passed == 4 && report.failed == 1)
        #expect(report.failures.first?.line == 21)
        #expect(report.failures.first?.message == "labeled result [label-a] does not agree with previous values")
    }

    /// A labeled query not run still has its expected result checked against the label.
    @Test func aSkippedLabeledQueryIsCheckedFromItsExpectedResult() async throws {
        let report = try await run(Self.table + """
            query I rowsort label-b
            SELECT a FROM t1
            ----
            1
            2
            3

            onlyif mysql
            query I rowsort label-b
            SELECT a FROM t1
            ----
            3 values hashing to c0710d6b4f15dfa88f600b0e6b624077

            onlyif mysql
            query I rowsort label-b
            SELECT a FROM t1
            ----
            7
            """)
        #expect(report.passed == 3 && report.skippedByGuard == 1 && report.failed == 1)
        #expect(report.failures.first?.line == 21)
    }

    @Test func guardsFollowTheEngineNameAndItsAliases() async throws {
        let text = """
            skipif sqlite
            statement ok
            SELECT 1

            onlyif SQLite
            statement ok
            SELECT 2

            onlyif mysql
            statement ok
            SELECT 3

            onlyif mysql
            statement ok
            SELECT 4

            skipif mssql
            onlyif meshdb
            statement ok
            SELECT 5
            """
        let asSQLite = try await run(text)
        #expect(asSQLite.passed == 1 && asSQLite.skippedByGuard == 4)
        #expect(asSQLite.skipReasons == [
            .init(reason: "onlyif mysql", byGuard: true, count: 2),
            .init(reason: "onlyif meshdb", byGuard: true, count: 1),
            .init(reason: "skipif sqlite", byGuard: true, count: 1),
        ])
        // An engine answering to "meshdb" and, through an alias, to "sqlite".
        var options = SQLLogicTestRunner.Options()
        options.guardAliases = SQLTestEngineKind.meshdb.defaultGuardAliases
        let asMeshDB = try await run(text, options: options, engine: NamedEngine(name: "meshdb"))
        #expect(asMeshDB.passed == 2 && asMeshDB.skippedByGuard == 3)
    }

    @Test func theSkipListSkipsWithItsReasonsAndCountsAgainstTheEngine() async throws {
        let list = try SQLLogicTestSkipList(parsing: """
            # unsupported in this engine
            line unit.test:7 => seventh line
            sql (?i)\\bunion\\b => compound selects
            """, source: "skips.txt")
        var options = SQLLogicTestRunner.Options()
        options.skipList = list
        let report = try await run(Self.table + """
            query I nosort
            SELECT 1
            ----
            1

            query I nosort
            SELECT 1 UNION SELECT 2
            ----
            1
            2
            """, options: options)
        #expect(report.passed == 2 && report.skippedByList == 2 && report.applicable == 4 && report.passPercent == 50)
        #expect(report.skipReasons.map(\.reason) == ["compound selects", "seventh line"])
        let summary = SQLLogicTestSummary.render([report], includeGuardReasons: false)
        #expect(summary.contains("| unit.test | 2 | 0 | 0 | 2 | 50.0 |"))
        #expect(summary.contains("- compound selects: 1"))
    }

    @Test(arguments: ["line unit.test => x", "sql ( => x", "line unit.test:3", "regex x => y", "sql x =>  "])
    func malformedSkipListsAreErrors(text: String) {
        #expect(throws: SQLLogicTestParseError.self) { try SQLLogicTestSkipList(parsing: text, source: "skips.txt") }
    }

    @Test func haltEndsTheScript() async throws {
        let report = try await run("""
            statement ok
            SELECT 1

            onlyif mysql
            halt

            halt

            statement ok
            SELECT 2
            """)
        #expect(report.passed == 1 && report.haltedAtLine == 7)
    }
}

/// The SQLite reference under another name: how a guard sees an engine is all that differs.
struct NamedEngine: SQLTestEngine {
    let name: String
    let sqlite: SQLiteReferenceEngine

    init(name: String) throws {
        self.name = name
        sqlite = try SQLiteReferenceEngine()
    }

    func execute(_ sql: String) async throws -> SQLTestOutcome { try await sqlite.execute(sql) }
}
