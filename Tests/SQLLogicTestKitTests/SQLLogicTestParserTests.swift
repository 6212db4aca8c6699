import Testing
@testable import SQLLogicTestKit

/// The script format as about.wiki and sqllogictest.c define it.
@Suite struct SQLLogicTestParserTests {
    @Test func readsEveryRecordKindWithItsCommandLine() throws {
        let text = """
            # a comment before everything
            hash-threshold 4

            statement ok
            CREATE TABLE t1(a INTEGER,
            # a comment inside the SQL is dropped from it
              b TEXT)

            skipif mysql
            onlyif sqlite
            query IT rowsort label-7
            SELECT a, b FROM t1
            ----
            1
            x

            statement error
            SELECT * FROM missing

            query I nosort
            SELECT 1 WHERE 0

            halt
            """
        let script = try SQLLogicTestParser.parse(text, path: "t.test")
        #expect(script.records == [
            SQLLogicTestRecord(line: 2, body: .hashThreshold(4)),
            SQLLogicTestRecord(line: 4, body: .statement(expectsError: false, sql: "CREATE TABLE t1(a INTEGER,\n  b TEXT)")),
            SQLLogicTestRecord(line: 11, conditions: [.skipIf("mysql"), .onlyIf("sqlite")], body: .query(SQLLogicTestQuery(
                types: [.integer, .text], sort: .rowSort, label: "label-7", sql: "SELECT a, b FROM t1", expected: ["1", "x"]))),
            SQLLogicTestRecord(line: 17, body: .statement(expectsError: true, sql: "SELECT * FROM missing")),
            SQLLogicTestRecord(line: 20, body: .query(SQLLogicTestQuery(types: [.integer], sql: "SELECT 1 WHERE 0", expected: []))),
            SQLLogicTestRecord(line: 23, body: .halt),
        ])
    }

    /// Several evidence/ scripts end lines in CRLF; whitespace-only lines separate records.
    @Test func crlfLineEndsAndWhitespaceLinesReadLikePlainOnes() throws {
        let text = "statement ok\r\nCREATE TABLE t(x)\r\n  \t\r\nquery I nosort\r\nSELECT x FROM t\r\n----\r\n"
        let script = try SQLLogicTestParser.parse(text, path: "crlf.test")
        #expect(script.records.map(\.line) == [1, 4])
        #expect(script.records[0].sql == "CREATE TABLE t(x)")
        #expect(script.records[1].body == .query(SQLLogicTestQuery(types: [.integer], sql: "SELECT x FROM t", expected: [])))
    }

    @Test func conditionsTakeOnlyTheirFirstWord() throws {
        let script = try SQLLogicTestParser.parse("onlyif sqlite # empty RHS\nstatement ok\nSELECT 1\n", path: "c.test")
        #expect(script.records[0].conditions == [.onlyIf("sqlite")])
        #expect(script.records[0].line == 2)
    }

    @Test(arguments: [
        ("query IX nosort\nSELECT 1", 1, "unknown type character 'X' in type string (I, R or T)"),
        ("query I upsidedown\nSELECT 1", 1, "unknown sort method: 'upsidedown' (nosort, rowsort or valuesort)"),
        ("query\nSELECT 1", 1, "missing type string"),
        ("statement maybe\nSELECT 1", 1, "statement argument should be 'ok' or 'error'"),
        ("\n\nselect 1", 3, "unknown record type: 'select'"),
        ("statement ok", 1, "statement without SQL"),
        ("hash-threshold many", 1, "hash-threshold takes a count of values (0: never hash)"),
        ("statement ok\nSELECT 1\n\nskipif mysql\nonlyif mysql", 5, "a condition must be followed by a record"),
    ])
    func malformedRecordsAreErrorsWithTheirLine(text: String, line: Int, message: String) {
        #expect(throws: SQLLogicTestParseError(path: "bad.test", line: line, message: message)) {
            try SQLLogicTestParser.parse(text, path: "bad.test")
        }
    }

    @Test func theCorpusParsesCompletely() throws {
        let files = try SQLLogicTestFiles.collect([SQLLogicTestFiles.corpusDirectory])
        #expect(files.count == 17)
        #expect(files.contains { $0.hasSuffix("/evidence/in1.test") } && files.contains { $0.hasSuffix("/select5.test") })
        for file in files {
            let script = try SQLLogicTestFiles.load(file)
            #expect(!script.records.isEmpty, "\(file)")
        }
    }
}
