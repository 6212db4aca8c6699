import Testing
@testable import SQLShell

struct MetaCommandTests {
    private func parse(_ text: String) throws -> MetaCommand { try MetaCommand.parse(text) }

    @Test func everyCommandParses() throws {
        #expect(try parse("\\?") == .help)
        #expect(try parse("\\q") == .quit)
        #expect(try parse("\\dt") == .listTables(pattern: nil))
        #expect(try parse("\\dt acc*") == .listTables(pattern: "acc*"))
        #expect(try parse("\\d") == .describe(name: nil))
        #expect(try parse("\\d accounts") == .describe(name: "accounts"))
        #expect(try parse("\\l") == .listDatabases)
        #expect(try parse("\\x") == .expanded(nil))
        #expect(try parse("\\x auto") == .expanded(.auto))
        #expect(try parse("\\timing on") == .timing(true))
        #expect(try parse("\\timing") == .timing(nil))
        #expect(try parse("\\i 'my file.sql'") == .include(path: "my file.sql"))
        #expect(try parse("\\o") == .output(path: nil))
        #expect(try parse("\\o out.txt") == .output(path: "out.txt"))
        #expect(try parse("\\e") == .edit(path: nil))
        #expect(try parse("\\conninfo") == .connectionInfo)
        #expect(try parse("\\nodes") == .nodes)
        #expect(try parse("\\groups") == .groups)
        #expect(try parse("\\explain") == .explain)
        #expect(try parse("\\g") == .send)
        #expect(try parse("\\r") == .resetBuffer)
        #expect(try parse("\\p") == .printBuffer)
    }

    @Test func everyCatalogEntryIsACommandTheParserKnows() throws {
        for entry in MetaCommand.catalog where entry.name != "\\copy" && entry.name != "\\i" {
            _ = try parse(entry.name)
        }
    }

    @Test func mistakesSayWhatIsWrong() {
        #expect(throws: MetaCommand.ParseError("invalid command \\frobnicate\nTry \\? for help.")) { try parse("\\frobnicate") }
        #expect(throws: MetaCommand.ParseError("\\x: unrecognized value \"sideways\": expected on, off or auto")) { try parse("\\x sideways") }
        #expect(throws: MetaCommand.ParseError("\\q: takes no arguments, got \"now\"")) { try parse("\\q now") }
        #expect(throws: MetaCommand.ParseError("\\i: missing required argument: FILE")) { try parse("\\i") }
        #expect(throws: MetaCommand.ParseError("unterminated quoted string: missing '")) { try parse("\\i 'open") }
    }

    @Test func argumentsFollowPsqlQuoting() throws {
        #expect(try MetaCommand.splitArguments("a 'b c' 'it''s' \"Q\"") == ["a", "b c", "it's", "\"Q\""])
    }

    @Test func copyParsesTablesColumnsQueriesAndOptions() throws {
        guard case .copy(let into) = try parse("\\copy items (id, label) from 'in.csv' with csv header") else {
            Issue.record("not a copy")
            return
        }
        #expect(into.source == .table(name: "items", columns: ["id", "label"]))
        #expect(into.direction == .from && into.path == "in.csv" && into.csv && into.header && into.delimiter == ",")
        guard case .copy(let out) = try parse("\\copy (SELECT id FROM items WHERE label = 'a)') to out.txt") else {
            Issue.record("not a copy")
            return
        }
        #expect(out.source == .query("SELECT id FROM items WHERE label = 'a)'"))
        #expect(out.direction == .to && !out.csv && out.delimiter == "\t" && out.null == "\\N")
        #expect(out.selectStatement == "SELECT id FROM items WHERE label = 'a)'")
        #expect(throws: MetaCommand.ParseError("\\copy: a query can only be copied to a file")) { try parse("\\copy (SELECT 1) from 'x'") }
        #expect(throws: MetaCommand.ParseError("\\copy: BINARY format is not supported: use csv or text")) { try parse("\\copy t to 'x' binary") }
    }
}
