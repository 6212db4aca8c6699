import Testing
@testable import SQLShell

struct CopyCommandTests {
    private func copy(_ text: String) throws -> CopyCommand { try CopyCommand.parse(text) }

    @Test func csvRoundTripKeepsNullsEmptyStringsQuotesAndNewlines() throws {
        let command = try copy("items to 'x.csv' csv header")
        let rows: [[String?]] = [["1", "a,b", nil], ["2", "", "say \"hi\"\nbye"]]
        let text = command.encode(columns: ["id", "label", "note"], rows: rows)
        #expect(text == "id,label,note\n1,\"a,b\",\n2,\"\",\"say \"\"hi\"\"\nbye\"\n")
        var reader = command
        reader.direction = .from
        #expect(try reader.decode(text) == rows)
    }

    @Test func textRoundTripEscapesTabsNewlinesAndBackslashes() throws {
        let command = try copy("items to 'x.txt'")
        let rows: [[String?]] = [["1", "tab\there", nil], ["2", "back\\slash\nnew", ""]]
        let text = command.encode(columns: ["id", "label", "note"], rows: rows)
        #expect(text == "1\ttab\\there\t\\N\n2\tback\\\\slash\\nnew\t\n")
        #expect(try command.decode(text) == rows)
    }

    @Test func insertStatementsBatchAndQuote() throws {
        let command = try copy("items (id, label) from 'x.csv' csv")
        let rows: [[String?]] = (0..<(CopyCommand.rowsPerInsert + 1)).map { ["\($0)", $0 == 0 ? "it's" : nil] }
        let statements = try command.insertStatements(rows: rows)
        #expect(statements.count == 2)
        #expect(statements[0].hasPrefix("INSERT INTO items (id, label) VALUES ('0', 'it''s'), ('1', NULL)"))
        #expect(statements[1] == "INSERT INTO items (id, label) VALUES ('\(CopyCommand.rowsPerInsert)', NULL)")
    }

    @Test func anUnterminatedCSVQuoteIsRefused() throws {
        let command = try copy("items from 'x.csv' csv")
        #expect(throws: MetaCommand.ParseError("\\copy: unterminated CSV quoted field in row 2")) {
            try command.decode("1,a\n2,\"open\n")
        }
    }
}

struct ConnectionURLTests {
    @Test func defaultsAreTheLocalDemo() throws {
        #expect(ConnectionURL.demo.description == "postgres://meshdb@127.0.0.1:5433/meshdb")
        let url = try ConnectionURL(parsing: "postgres://127.0.0.1")
        #expect(url == .demo)
    }

    @Test func everyPart() throws {
        let url = try ConnectionURL(parsing: "postgresql://ann:p%40ss@db.example:6000/sales?sslmode=prefer")
        #expect(url.user == "ann" && url.password == "p@ss" && url.host == "db.example" && url.port == 6000)
        #expect(url.database == "sales" && url.sslMode == .prefer)
        #expect(url.description == "postgres://ann@db.example:6000/sales?sslmode=prefer")
    }

    @Test func mistakesAreNamed() {
        #expect(throws: ConnectionURL.ParseError.self) { try ConnectionURL(parsing: "127.0.0.1:5433") }
        #expect(throws: ConnectionURL.ParseError(description: "port \"99999\" is not a number in 1...65535")) {
            try ConnectionURL(parsing: "postgres://h:99999/db")
        }
        #expect(throws: ConnectionURL.ParseError(description: "sslmode \"verify-full\" is not supported: use disable, prefer or require")) {
            try ConnectionURL(parsing: "postgres://h/db?sslmode=verify-full")
        }
    }
}
