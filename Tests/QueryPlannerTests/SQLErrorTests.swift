import Testing
import QueryPlanner

@Suite struct SQLErrorTests {
    @Test func describesCodeMessageAndPosition() {
        let error = SQLError(.syntaxError, "syntax error at or near \"FORM\"", position: 10)
        #expect(error.description == "42601: syntax error at or near \"FORM\" (at character 10)")
        #expect(SQLError(.undefinedTable, "relation \"t\" does not exist").description
            == "42P01: relation \"t\" does not exist")
    }
}
