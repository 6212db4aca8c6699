import Foundation
import Testing
import QueryPlanner
@testable import MeshDB

/// The renderer's promise: `render(parse(s))` means to SQLite what `s` means. Each corpus script
/// runs twice, side by side, on two in-memory SQLite databases, once as written and once as
/// parsed and rendered; every statement must succeed or fail on both alike and every query must
/// return the same rows.
@Suite struct SQLiteRenderRoundTripTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus/sqllogictest")

    struct Mismatch: CustomStringConvertible {
        var line: Int
        var sql: String
        var rendered: String
        var problem: String
        var description: String { "line \(line): \(problem)\n  written:  \(sql)\n  rendered: \(rendered)" }
    }

    /// Runs `script` on both databases; returns the mismatches and how many statements and
    /// queries were compared.
    static func compare(script: String) throws -> (mismatches: [Mismatch], records: Int) {
        let text = try String(contentsOf: corpus.appendingPathComponent(script), encoding: .utf8)
        let written = try SQLiteConnection(path: ":memory:")
        let rendered = try SQLiteConnection(path: ":memory:")
        var mismatches: [Mismatch] = []
        var compared = 0
        for record in SQLLogicTestReader.runnableRecords(in: text) {
            // Statements the parser refuses (triggers, REINDEX) run on neither side.
            guard let statements = try? Parser.parseStatements(record.sql) else { continue }
            compared += 1
            let renderedSQL = statements.map { SQLiteRenderer.render($0) }.joined(separator: "; ")
            func mismatch(_ problem: String) {
                mismatches.append(Mismatch(line: record.line, sql: record.sql, rendered: renderedSQL, problem: problem))
            }
            switch record.kind {
            case .query(_, let sortMode, _):
                let original = Result { () throws(SQLiteError) in try written.run(record.sql).rows }
                let roundTripped = Result { () throws(SQLiteError) in try rendered.run(renderedSQL).rows }
                switch (original, roundTripped) {
                case (.success(let expected), .success(let actual)):
                    let same = sortMode == "nosort" ? expected == actual : sorted(expected) == sorted(actual)
                    if !same { mismatch("rows differ: \(expected.prefix(3)) vs \(actual.prefix(3))") }
                case (.failure, .failure):
                    break
                case (.success, .failure(let error)), (.failure(let error), .success):
                    mismatch("only one side failed: \(error)")
                }
            default:
                let original = Result { () throws(SQLiteError) in try written.execute(record.sql) }
                let roundTripped = Result { () throws(SQLiteError) in try rendered.execute(renderedSQL) }
                switch (original, roundTripped) {
                case (.success, .success), (.failure, .failure): break
                case (.success, .failure(let error)), (.failure(let error), .success): mismatch("only one side failed: \(error)")
                }
            }
        }
        return (mismatches, compared)
    }

    static func sorted(_ rows: [[SQLiteValue]]) -> [String] { rows.map { "\($0)" }.sorted() }

    /// select4.test also round-trips (3,857 records, no mismatch) but takes about 15 s in a debug
    /// build, so CI leaves it out.
    @Test(arguments: ["select1.test", "select2.test", "select3.test", "select5.test", "evidence/in1.test", "evidence/in2.test",
                      "evidence/slt_lang_aggfunc.test", "evidence/slt_lang_createview.test",
                      "evidence/slt_lang_dropindex.test", "evidence/slt_lang_droptable.test",
                      "evidence/slt_lang_dropview.test", "evidence/slt_lang_replace.test",
                      "evidence/slt_lang_update.test"])
    func renderedScriptsGiveTheSameResults(script: String) throws {
        let (mismatches, records) = try Self.compare(script: script)
        #expect(records > 0)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))")
    }

    /// Precedence and literal corners, evaluated by SQLite as written and as rendered. Each text
    /// is valid SQLite, so the two readings can be compared directly.
    @Test(arguments: [
        "1 + 2 * 3 || 4", "'a' || 1 + 2", "5 - 3 - 1", "2 * 3 % 4", "7 / 2 * 2", "1 << 2 + 1", "6 & 3 | 8",
        "1 < 2 = 1", "1 = 2 < 3", "1 = 1 = 1", "NOT 0 = 1", "NOT 1 AND 0", "0 OR 1 AND 0", "- 2 * 3", "-(-3)",
        "~1 + 1", "+'5' + 1", "NULL IS NULL = 1", "2 IS TRUE", "2 IS NOT FALSE", "0 IS 1 = 0",
        "1 BETWEEN 0 AND 2 = 1", "3 NOT BETWEEN 1 + 1 AND 2 * 2", "2 IN (1, 2) = 1", "NULL NOT IN (1)",
        "'abc' LIKE 'A%'", "'a_c' LIKE 'a!_c' ESCAPE '!'", "'x' NOT LIKE 'y' = 1", "'ABC' LIKE 'abc'", "1 IN ()", "NULL ISNULL",
        "5 NOTNULL", "5 NOT NULL", "CASE 1 + 1 WHEN 2 THEN 'two' ELSE 'other' END",
        "CASE WHEN 1 > 2 THEN 1 WHEN NULL THEN 2 END", "CAST('12abc' AS INTEGER) + 1", "CAST(1.5 AS TEXT) || 'x'",
        "-9223372036854775808", "9223372036854775808", "-9223372036854775807 - 1", "0x7FFFFFFFFFFFFFFF + 0",
        "1e308 * 10", "X'41' || 'b'", "'it''s' || 'q'", "coalesce(NULL, 2) + nullif(3, 3)",
        "abs(-5) + length('héllo')", "(SELECT 1 UNION SELECT 2 ORDER BY 1 DESC LIMIT 1)",
        "EXISTS (SELECT 1 WHERE 0) OR NOT EXISTS (SELECT 1 WHERE 0)", "typeof(1.0 * 2)", "1 == 1 != 0",
        "'a' || NULL IS NULL", "max(1, 2) - min(3, 4)", "count(*)", "total(1)", "1 - -1", "2 - - - 2",
    ])
    func expressionsMeanTheSameToSQLite(text: String) throws {
        let database = try SQLiteConnection(path: ":memory:")
        let rendered = SQLiteRenderer.render(try Parser.parseExpression(text))
        let expected = try database.run("SELECT \(text)").rows
        let actual = try database.run("SELECT \(rendered)").rows
        #expect(expected == actual, "rendered as \(rendered)")
    }

    /// Statements whose rendering has to work around SQLite's grammar.
    @Test func upsertFromAQueryAndOffsetWithoutLimitRunOnSQLite() throws {
        let database = try SQLiteConnection(path: ":memory:")
        for text in [
            "CREATE TABLE s (a INT PRIMARY KEY, b TEXT)",
            "CREATE TABLE t (a INT PRIMARY KEY, b TEXT) SHARD BY (a) SHARDS 4",
            "INSERT INTO s VALUES (1, 'x'), (2, 'y')",
            "INSERT INTO t SELECT a, b FROM s ON CONFLICT DO NOTHING",
            "INSERT INTO t SELECT a, b || '!' FROM s ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        ] {
            try database.execute(SQLiteRenderer.render(try Parser.parseStatement(text)))
        }
        let rows = try database.run(SQLiteRenderer.render(try Parser.parseStatement("SELECT b FROM t ORDER BY a OFFSET 1"))).rows
        #expect(rows == [[.text("y!")]])
        let upper = try database.run(SQLiteRenderer.render(try Parser.parseStatement("SELECT count(*) FROM t WHERE b ILIKE 'X%'"))).rows
        #expect(upper == [[.integer(1)]])
    }
}
