import Testing
@testable import SQLShell

struct ErrorReportTests {
    @Test func theCaretSitsUnderThePositionOnItsLine() {
        let report = ErrorReport(sqlState: "42703", message: "column \"nope\" does not exist", position: 10)
        #expect(report.rendered(statement: "select\n  nope\nfrom t") == """
            ERROR:  42703: column "nope" does not exist
            LINE 2:   nope
                      ^

            """)
        #expect(report.rendered(statement: nil) == "ERROR:  42703: column \"nope\" does not exist\n")
    }

    @Test func positionOnTheFirstLineAndDetailAndHint() {
        let report = ErrorReport(sqlState: "42703", message: "column \"nope\" does not exist", position: 8,
                                 detail: "d", hint: "h")
        #expect(report.rendered(statement: "SELECT nope FROM accounts;") == """
            ERROR:  42703: column "nope" does not exist
            LINE 1: SELECT nope FROM accounts;
                           ^
            DETAIL:  d
            HINT:  h

            """)
    }

    @Test func aPositionOutsideTheStatementPrintsNoCaret() {
        let report = ErrorReport(sqlState: "42601", message: "syntax error", position: 99)
        #expect(report.rendered(statement: "SELECT") == "ERROR:  42601: syntax error\n")
        #expect(ErrorReport.caretLines(statement: "SELECT", position: 7) == "LINE 1: SELECT\n" + String(repeating: " ", count: 14) + "^\n")
    }
}
