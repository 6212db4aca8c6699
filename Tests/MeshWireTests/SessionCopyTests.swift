import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

/// COPY FROM STDIN and COPY TO STDOUT ("Message Flow: COPY Operations").
@Suite struct SessionCopyTests {
    /// The first word decides which statements the machine handles itself (COPY, DEALLOCATE):
    /// past whitespace and both kinds of comment, and nothing when a statement starts otherwise.
    @Test func theFirstWordSkipsWhitespaceAndComments() {
        let cases: [(String, String?)] = [
            ("COPY t FROM STDIN", "copy"), ("  -- note\n\tcopy t TO STDOUT", "copy"), ("/* a */ /* b */Deallocate ALL", "deallocate"),
            ("'copy'", nil), ("\"copy\" t", nil), ("", nil), ("-- only a comment", nil), ("/* unterminated", nil), ("copy$1", "copy$1"),
            ("COPY t FROM 'unterminated", "copy"),
        ]
        for (sql, word) in cases {
            #expect(CopyStatement.Tokenizer.firstWord(of: sql) == word, "\(sql)")
        }
        #expect(CopyStatement.isCopy(" copy t to stdout") && !CopyStatement.isCopy("copyright"))
    }

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
        #expect(throws: SQLError.self) { try CopyStatement(parsing: "COPY t TO STDOUT junk") }
        #expect(try CopyStatement(parsing: "COPY t TO STDOUT (FORMAT binary)").format.kind == .binary)
        #expect(try CopyStatement(parsing: "COPY t FROM STDIN BINARY").format.kind == .binary)
        #expect { try CopyStatement(parsing: "COPY t FROM STDIN (FORMAT binary, DELIMITER ',')") } throws: { error in
            (error as? SQLError)?.message == "cannot specify DELIMITER in BINARY mode"
        }
    }

    /// A binary stream as asyncpg sends it: header, tuples (field count, then length and bytes per
    /// field, -1 for NULL), trailer; cut at arbitrary points across CopyData messages.
    @Test func copyFromStdinBinaryAcrossCopyDataPieces() throws {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t (a, b) FROM STDIN (FORMAT binary)"))
        let statement = try CopyStatement(parsing: "COPY t (a, b) FROM STDIN (FORMAT binary)")
        #expect(driver.machine.copyInPrepared(columnTypes: [.int4, .text])
            == [.send([.copyInResponse(.init(format: 1, columnCount: 2))])])
        let stream = CopyFormat.binaryHeader
            + CopyFormat.binaryTuple([[0, 0, 0, 7], Array("seven".utf8)])
            + CopyFormat.binaryTuple([[0xFF, 0xFF, 0xFF, 0xFE], nil])
            + CopyFormat.binaryTrailer
        for cut in [1, 5, 19, 22, 30, stream.count - 1] {
            var pieces = SessionDriver { _ in }
            _ = pieces.connect()
            _ = pieces.send(.query("COPY t (a, b) FROM STDIN (FORMAT binary)"))
            _ = pieces.machine.copyInPrepared(columnTypes: [.int4, .text])
            let actions = pieces.send(.copyData(Array(stream[..<cut])), .copyData(Array(stream[cut...])), .copyDone)
            #expect(actions == [.insertCopyRows(statement, rows: [[.integer(7), .text("seven")], [.integer(-2), .null]])], "cut at \(cut)")
        }
    }

    @Test(arguments: [
        (Array("PGCOPY\nXXXX".utf8), "22P04", "COPY file signature not recognized"),
        (CopyFormat.binaryHeader + [0, 1, 0, 0, 0, 4, 0, 0], "22P04", "unexpected end of binary COPY data in row 1"),
        (CopyFormat.binaryHeader + [0, 1, 0xFF, 0xFF, 0xFF, 0xF0], "22P04", "invalid field length -16 in binary COPY row 1"),
        (CopyFormat.binaryHeader + CopyFormat.binaryTuple([[0, 0, 0, 1], [0, 0, 0, 2]]), "22P04", "extra data after last expected column (COPY line 1)"),
        (CopyFormat.binaryHeader + CopyFormat.binaryTuple([[0, 1]]), "22P02", nil),
        (Array(CopyFormat.binaryHeader[..<11]) + [0, 1, 0, 0, 0, 0, 0, 0], "0A000", "binary COPY with OIDs is not supported"),
    ] as [([UInt8], String, String?)])
    func badBinaryCopyDataIsRefusedClearly(stream: [UInt8], state: String, message: String?) {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t (a) FROM STDIN (FORMAT binary)"))
        _ = driver.machine.copyInPrepared(columnTypes: [.int4])
        let messages = sent(driver.send(.copyData(stream), .copyDone))
        #expect(errorState(messages) == state)
        if let message {
            #expect(messages.contains { if case .errorResponse(let error, _) = $0 { error.message == message } else { false } }, "\(messages)")
        }
        #expect(messages.last == .readyForQuery(.idle))
    }

    /// Regression: the header went out as a CopyData of its own, which psycopg 3 reads as a
    /// truncated tuple ("bad copy data: fields number truncated"). PostgreSQL sends it in the
    /// CopyData of the first row, and the trailer in one of its own.
    @Test func copyToStdoutBinarySendsTheHeaderWithTheFirstRow() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t TO STDOUT (FORMAT binary)"))
        let result = SQLResult(tag: "SELECT 2", columns: ["a", "b"], rows: [[.integer(1), .text("x")], [.integer(2), .null]])
        #expect(sent(driver.machine.statementCompleted(result, transactionStatus: .idle)) == [
            .copyOutResponse(.init(format: 1, columnCount: 2)),
            .copyData(CopyFormat.binaryHeader + [0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, UInt8(ascii: "x")]),
            .copyData([0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF]),
            .copyData(CopyFormat.binaryTrailer),
            .copyDone, .commandComplete(tag: "COPY 2"), .readyForQuery(.idle),
        ])
    }

    /// With no rows, PostgreSQL sends header and trailer in one CopyData.
    @Test func copyToStdoutBinaryOfNoRowsSendsHeaderAndTrailerTogether() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY t TO STDOUT (FORMAT binary)"))
        let result = SQLResult(tag: "SELECT 0", columns: ["a"], rows: [])
        #expect(sent(driver.machine.statementCompleted(result, transactionStatus: .idle)) == [
            .copyOutResponse(.init(format: 1, columnCount: 1)),
            .copyData(CopyFormat.binaryHeader + CopyFormat.binaryTrailer),
            .copyDone, .commandComplete(tag: "COPY 0"), .readyForQuery(.idle),
        ])
    }

    /// Binary COPY of a type without a binary form fails before any data, as PostgreSQL's does,
    /// rather than sending its text as a binary field.
    @Test func copyToStdoutBinaryRefusesATypeWithoutABinaryForm() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("COPY (SELECT current_time) TO STDOUT (FORMAT binary)"))
        let result = SQLResult(tag: "SELECT 0", columns: ["current_time"], columnTypes: [.time], rows: [])
        let messages = sent(driver.machine.statementCompleted(result, transactionStatus: .idle))
        #expect(errorState(messages) == "42883")
        #expect(messages == [messages[0], .readyForQuery(.idle)])
    }

    /// COPY through Parse / Bind / Execute: NoData on Describe, the copy on Execute, the Sync sent
    /// with Execute ignored during copy-in, CommandComplete after CopyDone, ReadyForQuery only at
    /// the next Sync; after a failed copy, messages up to Sync are dropped.
    @Test func copyInTheExtendedProtocol() throws {
        var driver = SessionDriver()
        _ = driver.connect()
        let sql = "COPY t (a) FROM STDIN"
        let statement = try CopyStatement(parsing: sql)
        let started = driver.send(.parse(statement: "", query: sql, parameterTypes: []), .describe(.statement, name: ""),
                                  .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                                  .execute(portal: "", rowLimit: 0), .sync)
        #expect(sent(started) == [.parseComplete, .parameterDescription([]), .noData, .bindComplete])
        #expect(work(started) == [.prepareCopyIn(statement)])
        #expect(driver.machine.copyInPrepared(columnTypes: [.int8]) == [.send([.copyInResponse(.init(columnCount: 1))])])
        let rows = driver.send(.copyData(Array("1\n2\n".utf8)), .copyDone, .sync)
        #expect(rows == [.insertCopyRows(statement, rows: [[.integer(1)], [.integer(2)]])])
        let done = driver.machine.statementCompleted(SQLResult(tag: "INSERT 0 2"), transactionStatus: .idle)
        #expect(sent(done) == [.commandComplete(tag: "COPY 2"), .readyForQuery(.idle)])

        let failing = driver.send(.parse(statement: "", query: sql, parameterTypes: []),
                                  .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                                  .execute(portal: "", rowLimit: 0), .sync)
        #expect(work(failing) == [.prepareCopyIn(statement)])
        _ = driver.machine.copyInPrepared(columnTypes: [.int8])
        let refused = driver.send(.copyData(Array("x\n".utf8)), .copyDone, .sync, .query("SELECT 1"))
        #expect(errorState(sent(refused)) == "22P02")
        #expect(sent(refused).last == .readyForQuery(.idle))
        #expect(work(refused) == [.execute(sql: "SELECT 1", parameters: [])])
    }

    @Test func copyToStdoutInTheExtendedProtocol() throws {
        var driver = SessionDriver()
        _ = driver.connect()
        let started = driver.send(.parse(statement: "", query: "COPY (SELECT a FROM t) TO STDOUT", parameterTypes: []),
                                  .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                                  .describe(.portal, name: ""), .execute(portal: "", rowLimit: 0), .sync)
        #expect(sent(started) == [.parseComplete, .bindComplete, .noData])
        #expect(work(started) == [.execute(sql: "SELECT a FROM t", parameters: [])])
        let result = SQLResult(tag: "SELECT 1", columns: ["a"], rows: [[.integer(5)]])
        #expect(sent(driver.machine.statementCompleted(result, transactionStatus: .idle)) == [
            .copyOutResponse(.init(columnCount: 1)), .copyData(Array("5\n".utf8)), .copyDone, .commandComplete(tag: "COPY 1"),
            .readyForQuery(.idle),
        ])
    }
}
