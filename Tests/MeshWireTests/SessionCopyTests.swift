import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

/// COPY FROM STDIN and COPY TO STDOUT ("Message Flow: COPY Operations").
@Suite struct SessionCopyTests {
    @Test func copyFromStdinInCsvAcrossCopyDataPieces() throws {
        var driver = SessionDriver { $0.copyBatchRows = 2 }
        _ = driver.connect()
        let actions = driver.send(.query("COPY t (a, b) FROM STDIN WITH (FORMAT csv)"))
        let statement = try CopyStatement(parsing: "COPY t (a, b) FROM STDIN WITH (FORMAT csv)")
        #expect(actions == [.prepareCopyIn(statement)])
        #expect(driver.machine.copyInPrepared(columnTypes: [.int8, .text]) == [.send([.copyInResponse(.init(columnCount: 2))])])
        let first = driver.send(.copyData(Array("1,x\n2,\"y,".utf8)), .copyData(Array("z\"\n3,\n".utf8)), .copyDone)
        #expect(first == [.insertCopyRows(statement, rows: [[.integer(1), .text("x")], [.integer(2), .text("y,z")]])])
        let second = driver.machine.statementCompleted(SQLResult(tag: "INSERT 0 2"), transactionStatus: .idle)
        #expect(second == [.insertCopyRows(statement, rows: [[.integer(3), .null]])])
        let done = driver.machine.statementCompleted(SQLResult(tag: "INSERT 0 1"), transactionStatus: .idle)
        #expect(sent(done) == [.commandComplete(tag: "COPY 3"), .readyForQuery(.idle)])
    }

    @Test func copyFromStdinTextFormatEscapesAndEndMarker() throws {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t FROM STDIN"))
        _ = driver.machine.copyInPrepared(columnTypes: [.text, .text])
        let actions = driver.send(.copyData(Array("a\\tb\t\\N\nline\\nbreak\tx\n\\.\n".utf8)), .copyDone)
        let statement = try CopyStatement(parsing: "COPY t FROM STDIN")
        #expect(actions == [.insertCopyRows(statement, rows: [[.text("a\tb"), .null], [.text("line\nbreak"), .text("x")]])])
    }

    @Test func aBadCopyRowEndsTheCopyAndLaterCopyDataIsDropped() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t FROM STDIN"))
        _ = driver.machine.copyInPrepared(columnTypes: [.int8])
        let actions = driver.send(.copyData(Array("1\t2\n".utf8)), .copyData(Array("3\n".utf8)), .copyDone, .query("SELECT 1"))
        #expect(errorState(sent(actions)) == "22P04")
        #expect(sent(actions).last == .readyForQuery(.idle))
        #expect(work(actions) == [.execute(sql: "SELECT 1", parameters: [])])
    }

    @Test func copyFailAbortsWith57014() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t FROM STDIN"))
        _ = driver.machine.copyInPrepared(columnTypes: [.int8])
        #expect(errorState(sent(driver.send(.copyFail("client gave up")))) == "57014")
    }

    @Test func copyToStdoutEmitsLinesInTextAndCsv() {
        var driver = SessionDriver()
        _ = driver.connect()
        #expect(driver.send(.query("COPY t TO STDOUT; COPY (SELECT a FROM t) TO STDOUT (FORMAT csv, HEADER)"))
            == [.execute(sql: "SELECT * FROM t", parameters: [])])
        let result = SQLResult(tag: "SELECT 2", columns: ["a", "b"], rows: [[.integer(1), .text("x\ty")], [.integer(2), .null]])
        let actions = driver.machine.statementCompleted(result, transactionStatus: .idle)
        #expect(sent(actions) == [
            .copyOutResponse(.init(columnCount: 2)),
            .copyData(Array("1\tx\\ty\n".utf8)), .copyData(Array("2\t\\N\n".utf8)),
            .copyDone, .commandComplete(tag: "COPY 2"),
        ])
        #expect(work(actions) == [.execute(sql: "SELECT a FROM t", parameters: [])])
        let csv = SQLResult(tag: "SELECT 2", columns: ["a"], rows: [[.text("p,q")], [.text("")]])
        #expect(sent(driver.machine.statementCompleted(csv, transactionStatus: .idle)) == [
            .copyOutResponse(.init(columnCount: 1)),
            .copyData(Array("a\n".utf8)), .copyData(Array("\"p,q\"\n".utf8)), .copyData(Array("\"\"\n".utf8)),
            .copyDone, .commandComplete(tag: "COPY 2"), .readyForQuery(.idle),
        ])
    }

    @Test func copyStatementsParse() throws {
        let pgbench = try CopyStatement(parsing: "copy pgbench_accounts from stdin with (freeze on)")
        #expect(pgbench.source == .table(name: "pgbench_accounts", columns: []))
        #expect(pgbench.direction == .fromStdin)
        let psql = try CopyStatement(parsing: "COPY  \"T\" ( a,b ) FROM STDIN csv header delimiter ';'")
        #expect(psql.source == .table(name: "\"T\"", columns: ["a", "b"]))
        #expect(psql.format.kind == .csv && psql.format.header && psql.format.delimiter == UInt8(ascii: ";"))
        let query = try CopyStatement(parsing: "COPY (SELECT ')' FROM t) TO STDOUT")
        #expect(query.source == .query("SELECT ')' FROM t"))
        #expect(throws: SQLError.self) { try CopyStatement(parsing: "COPY t FROM '/etc/passwd'") }
        #expect(throws: SQLError.self) { try CopyStatement(parsing: "COPY t TO STDOUT (FORMAT binary)") }
        #expect(throws: SQLError.self) { try CopyStatement(parsing: "COPY t TO STDOUT junk") }
    }
}
