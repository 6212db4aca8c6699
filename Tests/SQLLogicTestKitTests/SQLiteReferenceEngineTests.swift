import MeshDB
import Testing
@testable import SQLLogicTestKit

/// The reference engine passes the corpus completely: what shows the runner is right.
@Suite struct SQLiteReferenceEngineTests {
    /// select1 and evidence/ in CI (select2–5 pass too: `meshdb-sqllogictest` over the corpus).
    @Test(arguments: ["select1.test", "evidence"])
    func passesTheCorpus(_ name: String) async throws {
        let files = try SQLLogicTestFiles.collect([SQLLogicTestFiles.corpusDirectory + "/" + name])
        #expect(!files.isEmpty)
        for file in files {
            let script = try SQLLogicTestFiles.load(file)
            let report = await SQLLogicTestRunner().run(script, on: try await SQLTestEngineKind.sqlite.makeEngine(for: .scripts))
            #expect(report.failed == 0, "\(file): \(report.failures.map(\.description).joined(separator: "\n"))")
            #expect(report.passed > 0 && report.skippedByList == 0 && report.haltedAtLine == nil, "\(file)")
        }
    }

    @Test func select1RunsEveryRecord() async throws {
        let script = try SQLLogicTestFiles.load(SQLLogicTestFiles.corpusDirectory + "/select1.test")
        let report = await SQLLogicTestRunner().run(script, on: try SQLiteReferenceEngine(endsQueriesAtStepErrors: true))
        #expect(report.passed == script.records.count(where: { $0.sql != nil }))
        #expect(report.passed == 1031)
    }

    @Test func severalStatementsInOneRecordRunInTurn() async throws {
        let engine = try SQLiteReferenceEngine()
        #expect(try await engine.execute("CREATE TABLE t(x TEXT); INSERT INTO t VALUES('a;b'); INSERT INTO t VALUES('c');") == .rowsChanged(1))
        #expect(try await engine.execute("SELECT x FROM t ORDER BY x") == .rows(columns: ["x"], rows: [[.text("a;b")], [.text("c")]]))
        #expect(SQLiteReferenceEngine.statements(in: """
            CREATE TRIGGER r AFTER INSERT ON t BEGIN DELETE FROM t WHERE x = ';'; END;;
            SELECT 1
            """) == ["CREATE TRIGGER r AFTER INSERT ON t BEGIN DELETE FROM t WHERE x = ';'; END;", "\nSELECT 1"])
    }

    /// sum() overflowing fails while the query runs: an error, unless the engine stands in for
    /// the reference adapter, which ends the result there.
    @Test func aQueryFailingWhileItRunsEndsItsResultOnlyWhenAsked() async throws {
        let setup = "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(9223372036854775807), (1)"
        let strict = try SQLiteReferenceEngine()
        _ = try await strict.execute(setup)
        await #expect(throws: SQLiteError.self) { try await strict.execute("SELECT sum(x) FROM t") }
        let asReference = try SQLiteReferenceEngine(endsQueriesAtStepErrors: true)
        _ = try await asReference.execute(setup)
        #expect(try await asReference.execute("SELECT sum(x) FROM t") == .rows(columns: ["sum(x)"], rows: []))
        // Statements still report it.
        await #expect(throws: SQLiteError.self) { try await asReference.execute("INSERT INTO t SELECT sum(x) FROM t") }
    }
}
