import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

/// Simple and extended query flows ("Message Flow: Simple Query / Extended Query").
@Suite struct SessionQueryTests {
    @Test func simpleQueryRunsStatementsInOrderAndStopsAtTheFirstError() {
        var driver = SessionDriver()
        _ = driver.connect()
        let query = "CREATE TABLE t (a int); SELECT nope FROM t; SELECT 1"
        #expect(driver.send(.query(query)) == [.execute(sql: "CREATE TABLE t (a int)", parameters: [])])
        #expect(driver.machine.statementCompleted(SQLResult(tag: "CREATE TABLE"), transactionStatus: .idle)
            == [.send([.commandComplete(tag: "CREATE TABLE")]), .execute(sql: " SELECT nope FROM t", parameters: [])])
        // The error's position (8 within " SELECT nope FROM t") becomes one within the whole query.
        let error = SQLError(.undefinedColumn, "column \"nope\" does not exist", position: 9)
        let actions = driver.machine.statementFailed(error, transactionStatus: .idle)
        let shown = SQLError(.undefinedColumn, "column \"nope\" does not exist", position: 9 + 23)
        #expect(actions == [.send([.errorResponse(shown), .readyForQuery(.idle)])])
        #expect(Array(query)[9 + 23 - 1] == "n")
        #expect(!driver.machine.isBusy)
    }

    /// As PostgreSQL does for its GUC_REPORT parameters, a SET of one a client tracks is reported
    /// (under its canonical name) in both protocols; others are not.
    @Test func setOfAReportedParameterSendsParameterStatus() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("SET datestyle = 'ISO, DMY'"))
        let changed = SQLResult(tag: "SET", changedSettings: [.init(name: "datestyle", value: "ISO, DMY")])
        #expect(sent(driver.machine.statementCompleted(changed, transactionStatus: .idle))
            == [.parameterStatus(name: "DateStyle", value: "ISO, DMY"), .commandComplete(tag: "SET"), .readyForQuery(.idle)])
        _ = driver.send(.query("SET work_mem = '64MB'"))
        let unreported = SQLResult(tag: "SET", changedSettings: [.init(name: "work_mem", value: "64MB")])
        #expect(sent(driver.machine.statementCompleted(unreported, transactionStatus: .idle)) == [.commandComplete(tag: "SET"), .readyForQuery(.idle)])
        _ = driver.send(.parse(statement: "", query: "SET application_name = 'x'", parameterTypes: []),
                        .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                        .execute(portal: "", rowLimit: 0), .sync)
        let extended = SQLResult(tag: "SET", changedSettings: [.init(name: "APPLICATION_NAME", value: "x")])
        #expect(sent(driver.machine.statementCompleted(extended, transactionStatus: .idle))
            == [.parameterStatus(name: "application_name", value: "x"), .commandComplete(tag: "SET"), .readyForQuery(.idle)])
    }

    @Test func simpleQueryResultsCarryDescriptionRowsAndTag() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.query("SELECT a, b FROM t"))
        let result = SQLResult(tag: "SELECT 2", columns: ["a", "b"], rows: [[.integer(1), .text("x")], [.null, .real(2.5)]])
        let messages = sent(driver.machine.statementCompleted(result, transactionStatus: .idle))
        #expect(messages == [
            .rowDescription([.init(name: "a", type: .int8), .init(name: "b", type: .text)]),
            .dataRow([Array("1".utf8), Array("x".utf8)]),
            .dataRow([nil, Array("2.5".utf8)]),
            .commandComplete(tag: "SELECT 2"),
            .readyForQuery(.idle),
        ])
    }

    @Test func emptyQueryGetsEmptyQueryResponse() {
        var driver = SessionDriver()
        _ = driver.connect()
        #expect(sent(driver.send(.query(" ; -- nothing\n"))) == [.emptyQueryResponse, .readyForQuery(.idle)])
    }

    @Test func messagesArrivingDuringAStatementWaitTheirTurn() {
        var driver = SessionDriver()
        _ = driver.connect()
        #expect(work(driver.send(.query("SELECT 1"), .query("SELECT 2"))) == [.execute(sql: "SELECT 1", parameters: [])])
        let actions = driver.machine.statementCompleted(SQLResult(tag: "SELECT 0", columns: ["x"]), transactionStatus: .inTransaction)
        #expect(work(actions) == [.execute(sql: "SELECT 2", parameters: [])])
        #expect(sent(actions).contains(.readyForQuery(.inTransaction)))
    }

    @Test func extendedQueryWithNamedPortalAndRowLimit() {
        var driver = SessionDriver()
        _ = driver.connect()
        let bind = FrontendMessage.Bind(portal: "p", statement: "s", parameterFormats: [1],
                                        parameters: [[0, 0, 0, 5]], resultFormats: [1])
        let actions = driver.send(.parse(statement: "s", query: "SELECT a FROM t WHERE a < $1", parameterTypes: [23]),
                                  .bind(bind), .describe(.portal, name: "p"), .execute(portal: "p", rowLimit: 2),
                                  .execute(portal: "p", rowLimit: 2), .sync)
        #expect(sent(actions) == [.parseComplete, .bindComplete])
        #expect(work(actions) == [.execute(sql: "SELECT a FROM t WHERE a < $1", parameters: [.integer(5)])])
        let rows: [[SQLiteValue]] = [[.integer(1)], [.integer(2)], [.integer(3)]]
        let result = SQLResult(tag: "SELECT 3", columns: ["a"], rows: rows)
        let messages = sent(driver.machine.statementCompleted(result, transactionStatus: .idle))
        let eight = { (value: Int64) in WireValueCodec.bigEndian(value) }
        #expect(messages == [
            .rowDescription([.init(name: "a", type: .int8, format: 1)]),
            .dataRow([eight(1)]), .dataRow([eight(2)]), .portalSuspended,
            .dataRow([eight(3)]), .commandComplete(tag: "SELECT 3"),
            .readyForQuery(.idle),
        ])
    }

    /// Runs `sql` through Parse, Bind (results in `formats`), Describe (portal) and Execute, answers
    /// it with `result`, and returns what the server sent.
    static func extendedResult(_ sql: String, formats: [Int16], _ result: SQLResult) -> [BackendMessage] {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.parse(statement: "", query: sql, parameterTypes: []),
                        .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: formats)),
                        .describe(.portal, name: ""), .execute(portal: "", rowLimit: 0), .sync)
        return sent(driver.machine.statementCompleted(result, transactionStatus: .idle))
    }

    /// Regression: oid, date and timestamptz results asked for in binary went out as their text
    /// bytes (psycopg read `select 1::oid` as 822083584; asyncpg failed on `select current_date`
    /// with a year out of range).
    @Test func binaryResultsOfOidDateAndTimestamptzAreTheirBinaryForms() {
        let result = SQLResult(tag: "SELECT 1", columns: ["oid", "current_date", "current_timestamp"],
                               columnTypes: [.oidType, .date, .timestamptz],
                               rows: [[.integer(1), .text("2026-11-22"), .text("2026-11-22 09:28:39")]])
        #expect(Self.extendedResult("select 1::oid, current_date, current_timestamp", formats: [1], result) == [
            .rowDescription([.init(name: "oid", type: .oidType, format: 1), .init(name: "current_date", type: .date, format: 1),
                             .init(name: "current_timestamp", type: .timestamptz, format: 1)]),
            .dataRow([[0, 0, 0, 1], WireValueCodec.bigEndian(Int32(9_822)), WireValueCodec.bigEndian(Int64(848_654_919_000_000))]),
            .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle),
        ])
    }

    /// A column whose type has no binary form, asked for in binary, is refused as PostgreSQL
    /// refuses it (42883), never sent as text bytes a driver would decode as binary; in text it
    /// goes out as before. A value that is not one of its column's type is refused likewise.
    @Test func binaryIsRefusedForATypeWithoutABinaryForm() {
        let time = SQLResult(tag: "SELECT 1", columns: ["n", "current_time"], columnTypes: [.int4, .time],
                             rows: [[.integer(1), .text("09:28:39")]])
        let refused = Self.extendedResult("select 1, current_time", formats: [1], time)
        #expect(errorState(refused) == "42883")
        #expect(!refused.contains { if case .dataRow = $0 { true } else { false } })
        #expect(refused.last == .readyForQuery(.idle))
        #expect(Self.extendedResult("select 1, current_time", formats: [1, 0], time) == [
            .rowDescription([.init(name: "n", type: .int4, format: 1), .init(name: "current_time", type: WireType(oid: 1083), format: 0)]),
            .dataRow([[0, 0, 0, 1], Array("09:28:39".utf8)]),
            .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle),
        ])
        let notATimestamp = SQLResult(tag: "SELECT 1", columns: ["t"], columnTypes: [.timestamp], rows: [[.text("soon")]])
        #expect(errorState(Self.extendedResult("select t from t", formats: [1], notATimestamp)) == "22007")
    }

    @Test func describeStatementReportsParameterTypesAndColumns() {
        var driver = SessionDriver()
        _ = driver.connect()
        let actions = driver.send(.parse(statement: "", query: "SELECT a FROM t WHERE a = $1 AND b = $2", parameterTypes: [20]),
                                  .describe(.statement, name: ""), .sync)
        #expect(sent(actions) == [.parseComplete])
        #expect(work(actions) == [.describe(sql: "SELECT a FROM t WHERE a = $1 AND b = $2", parameterTypes: [20, 0])])
        let messages = sent(driver.machine.statementDescribed(parameterTypes: [.int8, .text], columns: [.init(name: "a", type: .int8)]))
        #expect(messages == [.parameterDescription([20, 25]), .rowDescription([.init(name: "a", type: .int8)]), .readyForQuery(.idle)])
        // Bind now reads $1 by the described type: binary int8.
        let bind = driver.send(.bind(.init(portal: "", statement: "", parameterFormats: [1, 0],
                                           parameters: [WireValueCodec.bigEndian(Int64(9)), Array("x".utf8)], resultFormats: [])),
                               .execute(portal: "", rowLimit: 0))
        #expect(work(bind) == [.execute(sql: "SELECT a FROM t WHERE a = $1 AND b = $2", parameters: [.integer(9), .text("x")])])
    }

    @Test func anErrorDiscardsMessagesUntilSync() {
        var driver = SessionDriver()
        _ = driver.connect()
        let bind = FrontendMessage.Bind(portal: "", statement: "missing", parameterFormats: [], parameters: [], resultFormats: [])
        let actions = driver.send(.bind(bind), .execute(portal: "", rowLimit: 0), .parse(statement: "x", query: "SELECT 1", parameterTypes: []),
                                  .sync, .query("SELECT 2"))
        #expect(sent(actions) == [
            .errorResponse(SQLError(SQLState("26000"), "prepared statement \"missing\" does not exist")),
            .readyForQuery(.idle),
        ])
        #expect(work(actions) == [.execute(sql: "SELECT 2", parameters: [])])
    }

    @Test func aFailedStatementInTheExtendedProtocolSkipsToSync() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.parse(statement: "", query: "SELECT x", parameterTypes: []),
                        .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                        .execute(portal: "", rowLimit: 0), .execute(portal: "", rowLimit: 0), .sync)
        let error = SQLError(.undefinedColumn, "column \"x\" does not exist", position: 8)
        #expect(sent(driver.machine.statementFailed(error, transactionStatus: .idle)) == [.errorResponse(error), .readyForQuery(.idle)])
    }

    @Test func bindChecksParameterCountAndValues() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.parse(statement: "s", query: "SELECT $1", parameterTypes: [23]))
        let wrongCount = driver.send(.bind(.init(portal: "", statement: "s", parameterFormats: [], parameters: [], resultFormats: [])), .sync)
        #expect(errorState(sent(wrongCount)) == "08P01")
        #expect(!driver.machine.isClosed)
        let badValue = driver.send(.bind(.init(portal: "", statement: "s", parameterFormats: [0], parameters: [Array("x1".utf8)], resultFormats: [])), .sync)
        #expect(errorState(sent(badValue)) == "22P02")
        let duplicate = driver.send(.parse(statement: "s", query: "SELECT 2", parameterTypes: []), .sync)
        #expect(errorState(sent(duplicate)) == "42P05")
    }

    @Test func closeDropsStatementsAndTheirPortals() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.parse(statement: "s", query: "SELECT 1", parameterTypes: []),
                        .bind(.init(portal: "p", statement: "s", parameterFormats: [], parameters: [], resultFormats: [])))
        #expect(sent(driver.send(.close(.statement, name: "s"))) == [.closeComplete])
        #expect(errorState(sent(driver.send(.execute(portal: "p", rowLimit: 0), .sync))) == "34000")
    }

    /// psycopg 3 drops its protocol-level statements with DEALLOCATE in a simple query (and all
    /// of them after a rollback): the machine answers it, the shell never sees it.
    @Test func deallocateDropsProtocolLevelStatements() {
        var driver = SessionDriver()
        _ = driver.connect()
        _ = driver.send(.parse(statement: "_pg3_0", query: "SELECT 1", parameterTypes: []),
                        .parse(statement: "_pg3_1", query: "SELECT 2", parameterTypes: []), .sync)
        #expect(sent(driver.send(.query("DEALLOCATE _pg3_0"))) == [.commandComplete(tag: "DEALLOCATE"), .readyForQuery(.idle)])
        let bind = FrontendMessage.Bind(portal: "", statement: "_pg3_0", parameterFormats: [], parameters: [], resultFormats: [])
        #expect(errorState(sent(driver.send(.bind(bind), .sync))) == "26000")
        #expect(errorState(sent(driver.send(.query("DEALLOCATE PREPARE _pg3_0")))) == "26000")
        #expect(sent(driver.send(.query("deallocate all; "))) == [.commandComplete(tag: "DEALLOCATE ALL"), .readyForQuery(.idle)])
        let bindOther = FrontendMessage.Bind(portal: "", statement: "_pg3_1", parameterFormats: [], parameters: [], resultFormats: [])
        #expect(errorState(sent(driver.send(.bind(bindOther), .sync))) == "26000")
        #expect(!driver.machine.isBusy)

        // Through the extended protocol too (psycopg 3's pipeline mode): answered here.
        _ = driver.send(.parse(statement: "_pg3_2", query: "SELECT 3", parameterTypes: []), .sync)
        let viaPortal = driver.send(.parse(statement: "", query: "DEALLOCATE _pg3_2", parameterTypes: []),
                                    .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                                    .execute(portal: "", rowLimit: 0), .sync)
        #expect(sent(viaPortal) == [.parseComplete, .bindComplete, .commandComplete(tag: "DEALLOCATE"), .readyForQuery(.idle)])
        #expect(work(viaPortal).isEmpty, "the shell never sees it")
        let bindGone = FrontendMessage.Bind(portal: "", statement: "_pg3_2", parameterFormats: [], parameters: [], resultFormats: [])
        #expect(errorState(sent(driver.send(.bind(bindGone), .sync))) == "26000")

        // DISCARD ALL (pgbouncer's reset) runs in the session and drops them all: the next client
        // may Parse the same names again.
        _ = driver.send(.parse(statement: "S_1", query: "SELECT 1", parameterTypes: []), .sync)
        _ = driver.send(.query("DISCARD ALL"))
        _ = driver.machine.statementCompleted(SQLResult(tag: "DISCARD ALL"), transactionStatus: .idle)
        #expect(sent(driver.send(.parse(statement: "S_1", query: "SELECT 1", parameterTypes: []), .sync)) == [.parseComplete, .readyForQuery(.idle)])
    }

    @Test func emptyPreparedStatementExecutesAsEmptyQuery() {
        var driver = SessionDriver()
        _ = driver.connect()
        let actions = driver.send(.parse(statement: "", query: "", parameterTypes: []),
                                  .bind(.init(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])),
                                  .describe(.portal, name: ""), .execute(portal: "", rowLimit: 0), .sync)
        #expect(sent(actions) == [.parseComplete, .bindComplete, .noData, .emptyQueryResponse, .readyForQuery(.idle)])
    }

    @Test func malformedMessagesAreProtocolViolations() {
        let cases: [[UInt8]] = [
            [UInt8(ascii: "B"), 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 9],  // Bind: a parameter of 9 bytes... never sent
            [UInt8(ascii: "Q"), 0, 0, 0, 6, UInt8(ascii: "x"), UInt8(ascii: "y")],  // Query without NUL
            [UInt8(ascii: "D"), 0, 0, 0, 6, UInt8(ascii: "Z"), 0],  // Describe of neither S nor P
            [UInt8(ascii: "E"), 0, 0, 0, 6, 0, 1],  // Execute with a 2-byte row limit
            [UInt8(ascii: "?"), 0, 0, 0, 4],  // no such message
            [UInt8(ascii: "Q"), 0, 0, 0, 2],  // a length shorter than itself
            [UInt8(ascii: "p"), 0, 0, 0, 5, 0],  // password while trust needs none
        ]
        for bytes in cases {
            var driver = SessionDriver()
            _ = driver.connect()
            let actions = driver.machine.bytesReceived(bytes)
            #expect(errorState(sent(actions)) == "08P01", "\(bytes)")
            #expect(actions.last == .close)
            #expect(driver.machine.bytesReceived(FrontendMessage.query("SELECT 1").encoded).isEmpty)
        }
    }

    @Test func highestParameterSkipsQuotesAndComments() {
        #expect(SessionStateMachine.highestParameter(in: "SELECT $1, '$9', \"$8\" -- $7\n, $3") == 3)
        #expect(SessionStateMachine.highestParameter(in: "SELECT 1") == 0)
    }
}
