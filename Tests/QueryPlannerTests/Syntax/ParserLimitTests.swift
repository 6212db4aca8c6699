import Testing
@testable import QueryPlanner

/// Every limit is named in its error, and deep input ends in an error before it can exhaust the
/// stack, in the parser or in any walk over what it returns.
@Suite struct ParserLimitTests {
    static let depthMax = Parser.Limits().expressionDepthMax

    func expectTooComplex(_ sql: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try Parser.parseStatements(sql) } throws: { error in
            guard let error = error as? SQLError else { return false }
            return error.state == .statementTooComplex && error.message.contains("expression_depth_max = 1000")
        }
    }

    @Test func parenthesesNestedBeyondTheLimitAreRefused() {
        expectTooComplex("SELECT " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000))
        expectTooComplex("SELECT " + String(repeating: "(", count: 100_000))
    }

    @Test func longOperatorChainsAreRefusedLikeNesting() {
        expectTooComplex("SELECT 1" + String(repeating: " + 1", count: 100_000))
        expectTooComplex("SELECT " + String(repeating: "NOT ", count: 100_000) + "1")
        expectTooComplex("SELECT " + String(repeating: "- ", count: 100_000) + "1")
        expectTooComplex("SELECT 1" + String(repeating: "::int", count: 100_000))
    }

    @Test func nestedQueriesAndJoinsCountToo() {
        expectTooComplex(String(repeating: "SELECT (", count: 50_000) + "1" + String(repeating: ")", count: 50_000))
        expectTooComplex("SELECT * FROM " + String(repeating: "(", count: 100_000) + "t" + String(repeating: ")", count: 100_000))
        expectTooComplex("SELECT 1 WHERE " + String(repeating: "EXISTS (SELECT 1 WHERE ", count: 20_000) + "1")
    }

    /// The deepest accepted trees parse, render, hash, compare and deallocate on a test thread.
    /// The parser's recursion counts the SELECT, its select-list item and each parenthesis; a
    /// tree's height counts each operator and value.
    @Test func theDeepestAcceptedTreesAreUsable() throws {
        let parentheses = Self.depthMax - 2
        let nested = "SELECT " + String(repeating: "(", count: parentheses) + "1" + String(repeating: ")", count: parentheses)
        // The rendering parenthesizes each link of a chain, which the parser counts as recursion:
        // leave it room to read its own rendering back.
        let chain = "SELECT 1" + String(repeating: " + 1", count: Self.depthMax - 4)
        let chains = "SELECT " + String(repeating: "(1 + 1 + 1 + 1 + ", count: 200) + "1" + String(repeating: ")", count: 200)
        let queries = String(repeating: "SELECT (", count: Self.depthMax / 2 - 1) + "1" + String(repeating: ")", count: Self.depthMax / 2 - 1)
        for sql in [nested, chain, queries, chains] {
            let statement = try Parser.parseStatement(sql)
            let again = try Parser.parseStatement(SQLiteRenderer.render(statement))
            #expect(statement == again)
            #expect(statement.hashValue == again.hashValue)
            var count = 0
            statement.forEachExpression { _ in count += 1 }
            #expect(count > 0)
        }
    }

    @Test func oneStepPastTheLimitIsRefused() {
        let parentheses = Self.depthMax - 1
        expectTooComplex("SELECT " + String(repeating: "(", count: parentheses) + "1" + String(repeating: ")", count: parentheses))
        expectTooComplex("SELECT 1" + String(repeating: " + 1", count: Self.depthMax))
        #expect(throws: Never.self) { try Parser.parseStatement("SELECT 1" + String(repeating: " + 1", count: Self.depthMax - 1)) }
    }

    /// Chains inside parentheses inside chains: little recursion, a tall tree (k × m levels).
    @Test func tallTreesOfShallowNestingAreRefused() {
        let chain = String(repeating: " + 1", count: 300)
        expectTooComplex("SELECT " + String(repeating: "(", count: 5) + "1" + String(repeating: chain + ")", count: 5))
        expectTooComplex("SELECT " + String(repeating: "(", count: 500) + "1" + String(repeating: chain + ")", count: 500))
    }

    @Test func statementLengthIsLimited() {
        let limit = Parser.Limits().statementBytesMax
        let text = "SELECT '" + String(repeating: "x", count: limit) + "'"
        #expect { try Parser.parseStatements(text) } throws: { error in
            guard let error = error as? SQLError else { return false }
            return error.state == .programLimitExceeded
                && error.message == "statement of \(limit + 9) bytes exceeds statement_bytes_max = 1048576"
        }
        #expect(throws: Never.self) { try Parser.parseStatements("SELECT '" + String(repeating: "x", count: limit - 9) + "'") }
    }

    @Test func parameterNumbersAreLimited() throws {
        #expect(try Parser.parseExpression("$32766") == Expression(.parameter(32766)))
        for text in ["$32767", "?32767", "$99999999999999999999999"] {
            #expect { try Parser.parseExpression(text) } throws: { error in
                (error as? SQLError)?.state == .programLimitExceeded
                    && (error as? SQLError)?.message.contains("parameter_number_max = 32766") == true
            }
        }
        #expect { try Parser.parseExpression("$0") } throws: { ($0 as? SQLError)?.state == .syntaxError }
    }

    @Test func compoundSelectsAreLimited() throws {
        let limit = Parser.Limits().compoundSelectTermsMax
        let atLimit = Array(repeating: "SELECT 1", count: limit).joined(separator: " UNION ALL ")
        #expect(throws: Never.self) { try Parser.parseStatement(atLimit) }
        #expect { try Parser.parseStatement(atLimit + " UNION ALL SELECT 1") } throws: { error in
            (error as? SQLError)?.message.contains("compound_select_terms_max = 500") == true
        }
    }

    @Test func limitsCanBeLowered() {
        let limits = Parser.Limits(expressionDepthMax: 3)
        #expect(throws: Never.self) { try Parser.parseExpression("(1 + 2)", limits: limits) }
        #expect { try Parser.parseExpression("((1 + 2) + 3)", limits: limits) } throws: { error in
            (error as? SQLError)?.message == "statement too complex: nesting exceeds expression_depth_max = 3"
        }
    }
}
