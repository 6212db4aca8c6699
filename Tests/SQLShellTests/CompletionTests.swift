import Testing
@testable import SQLShell

struct CompletionTests {
    private let completion = Completion(catalog: .init(
        tables: ["accounts", "accidents", "orders"],
        columns: ["accounts": ["id", "owner", "balance"], "accidents": ["id", "at"], "orders": ["id", "account_id", "amount"]]))

    @Test func tableNamesWhereATableGoes() {
        #expect(completion.candidates(textBeforeCursor: "SELECT * FROM acc") == ["accidents", "accounts"])
        #expect(completion.candidates(textBeforeCursor: "select * from accounts a join or") == ["orders"])
        #expect(completion.candidates(textBeforeCursor: "INSERT INTO ") == ["accidents", "accounts", "orders"])
        #expect(completion.candidates(textBeforeCursor: "SELECT * FROM accounts, o") == ["orders"])
        #expect(completion.candidates(textBeforeCursor: "SELECT * FROM accounts,o") == ["orders"])
        #expect(completion.candidates(textBeforeCursor: "\\d acco") == ["accounts"])
    }

    @Test func columnsOfTheTablesInTheStatementAndKeywordsInTheTypedCase() {
        #expect(completion.candidates(textBeforeCursor: "SELECT a FROM orders WHERE am") == ["amount"])
        #expect(completion.candidates(textBeforeCursor: "select * from accounts where ba") == ["balance"])
        #expect(completion.candidates(textBeforeCursor: "sel") == ["select"])
        #expect(completion.candidates(textBeforeCursor: "SEL") == ["SELECT"])
        // A column of a table the statement does not name is not offered.
        #expect(!completion.candidates(textBeforeCursor: "SELECT * FROM accounts WHERE a").contains("amount"))
        // Earlier lines of the statement count.
        #expect(completion.candidates(textBeforeCursor: "SELECT *\nFROM orders\nWHERE account") == ["account_id"])
    }

    @Test func backslashCommands() {
        #expect(completion.candidates(textBeforeCursor: "\\ti") == ["\\timing"])
        #expect(completion.candidates(textBeforeCursor: "\\d").contains("\\dt"))
        #expect(completion.candidates(textBeforeCursor: "\\no") == ["\\nodes"])
    }
}
