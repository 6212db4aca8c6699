import Testing
@testable import SQLShell

/// The REPL's statement scanner, line by line as a terminal feeds it.
struct InputScannerTests {
    private func feed(_ lines: [String]) -> (items: [InputScanner.Item], scanner: InputScanner) {
        var scanner = InputScanner()
        var items: [InputScanner.Item] = []
        for line in lines { items += scanner.feed(line: line) }
        return (items, scanner)
    }

    @Test func aStatementSpanningLinesEndsAtItsSemicolon() {
        var scanner = InputScanner()
        #expect(scanner.feed(line: "SELECT a,") == [])
        #expect(scanner.continuation == .statement)
        #expect(scanner.feed(line: "  b FROM t;") == [.statement("SELECT a,\n  b FROM t;")])
        #expect(scanner.continuation == .none)
        #expect(scanner.isEmpty)
    }

    @Test func severalStatementsOnOneLineAndALoneSemicolon() {
        let (items, scanner) = feed(["SELECT 1; ; SELECT 2;SELECT 3"])
        #expect(items == [.statement("SELECT 1;"), .statement("SELECT 2;")])
        #expect(scanner.buffer == " SELECT 3" || scanner.buffer.trimmingWhitespace() == "SELECT 3")
    }

    @Test func semicolonsInsideQuotesCommentsAndParenthesesDoNotEndTheStatement() {
        var scanner = InputScanner()
        #expect(scanner.feed(line: "SELECT 'a;b', \"c;d\", $$e;f$$, $tag$g;$$h$tag$ -- i;j") == [])
        #expect(scanner.continuation == .statement)
        #expect(scanner.feed(line: "/* k; /* nested; */ l; */ FROM (SELECT 1;") == [])
        #expect(scanner.continuation == .parenthesis)
        let items = scanner.feed(line: ") AS x;")
        #expect(items.count == 1)
        guard case .statement(let text) = items.first else { return }
        #expect(text.hasPrefix("SELECT 'a;b'") && text.hasSuffix(") AS x;"))
    }

    @Test func continuationSaysWhichQuoteIsOpen() {
        var scanner = InputScanner()
        _ = scanner.feed(line: "SELECT 'it''s")
        #expect(scanner.continuation == .singleQuote)
        _ = scanner.feed(line: "done', \"col")
        #expect(scanner.continuation == .doubleQuote)
        _ = scanner.feed(line: "\", $body$ x")
        #expect(scanner.continuation == .dollarQuote)
        _ = scanner.feed(line: "$body$ /* open")
        #expect(scanner.continuation == .blockComment)
        #expect(scanner.feed(line: "*/;").count == 1)
    }

    @Test func escapeStringsHonourBackslashQuotesPlainStringsDoNot() {
        var scanner = InputScanner()
        #expect(scanner.feed(line: "SELECT E'a\\'b;c';") == [.statement("SELECT E'a\\'b;c';")])
        // In a standard string a backslash is an ordinary character: the quote after it closes.
        #expect(scanner.feed(line: "SELECT 'a\\';") == [.statement("SELECT 'a\\';")])
    }

    @Test func parametersAndDollarsInIdentifiersAreNotDollarQuotes() {
        var scanner = InputScanner()
        #expect(scanner.feed(line: "SELECT $1, a$b$ FROM t;") == [.statement("SELECT $1, a$b$ FROM t;")])
    }

    @Test func aBackslashCommandTakesTheRestOfTheLineAndLeavesTheBuffer() {
        var scanner = InputScanner()
        #expect(scanner.feed(line: "\\dt acc*") == [.command("\\dt acc*")])
        #expect(scanner.isEmpty)
        #expect(scanner.feed(line: "SELECT 1 \\g") == [.command("\\g")])
        #expect(scanner.buffer.trimmingWhitespace() == "SELECT 1")
        #expect(scanner.finish() == "SELECT 1")
        #expect(scanner.isEmpty)
        // Inside a string a backslash is data.
        #expect(scanner.feed(line: "SELECT '\\x';") == [.statement("SELECT '\\x';")])
    }

    @Test func commentsAndBlankLinesBeforeAStatementAreDropped() {
        let (items, scanner) = feed(["", "-- a note; with a semicolon", "   "])
        #expect(items.isEmpty)
        #expect(scanner.isEmpty)
        #expect(scanner.buffer.isEmpty)
    }

    @Test func resetAndLoadReplaceTheBuffer() {
        var scanner = InputScanner()
        _ = scanner.feed(line: "SELECT 'unfinished")
        scanner.reset()
        #expect(scanner.isEmpty && scanner.continuation == .none)
        #expect(scanner.load("SELECT 1;\nSELECT\n2") == [.statement("SELECT 1;")])
        #expect(scanner.buffer == "SELECT\n2")
    }
}

struct PromptTests {
    @Test func promptsSayWhatTheShellWaitsForAndTheTransactionState() {
        #expect(Prompt.render(database: "meshdb", continuation: .none, transaction: .idle) == "meshdb=> ")
        #expect(Prompt.render(database: "meshdb", continuation: .statement, transaction: nil) == "meshdb-> ")
        #expect(Prompt.render(database: "sales", continuation: .singleQuote, transaction: .inTransaction) == "sales'*> ")
        #expect(Prompt.render(database: "meshdb", continuation: .none, transaction: .failed) == "meshdb=!> ")
        #expect(Prompt.render(database: "meshdb", continuation: .parenthesis, transaction: .idle) == "meshdb(> ")
    }
}
