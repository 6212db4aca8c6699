import Testing
import QueryPlanner

/// Precedence and expression syntax, read through the renderer, which parenthesizes every
/// composite operand: the rendering shows how the parser grouped the text.
@Suite struct ExpressionParsingTests {
    func grouped(_ text: String) throws -> String {
        SQLiteRenderer.render(try Parser.parseExpression(text))
    }

    @Test(arguments: [
        ("1 + 2 * 3", "1 + (2 * 3)"),
        ("1 * 2 + 3", "(1 * 2) + 3"),
        ("a - b - c", "(a - b) - c"),
        ("a / b % c", "(a / b) % c"),
        // SQLite: || binds tighter than * (PostgreSQL: looser than +).
        ("a || b * c", "(a || b) * c"),
        ("a + b || c", "a + (b || c)"),
        // SQLite: < binds tighter than = (PostgreSQL: the same level).
        ("a = b < c", "a = (b < c)"),
        ("a < b = c", "(a < b) = c"),
        ("a = b = c", "(a = b) = c"),
        ("a & b | c << 1 >> 2", "(((a & b) | c) << 1) >> 2"),
        ("a + b & c", "(a + b) & c"),
        ("a AND b OR c AND d", "(a AND b) OR (c AND d)"),
        ("a OR b AND c", "a OR (b AND c)"),
        ("NOT a = b", "NOT (a = b)"),
        ("NOT a AND b", "(NOT a) AND b"),
        ("a = NOT b = c", "a = (NOT (b = c))"),
        ("NOT NOT a", "NOT (NOT a)"),
        ("-a * b", "(-a) * b"),
        ("- - a", "-(-a)"),
        ("~a + 1", "(~a) + 1"),
        ("+a", "+a"),
        ("-x::text", "-CAST(x AS TEXT)"),
        ("a::int + 1", "CAST(a AS INTEGER) + 1"),
        ("a BETWEEN 1 AND 2 AND c", "(a BETWEEN 1 AND 2) AND c"),
        ("a NOT BETWEEN b + 1 AND c * 2", "a NOT BETWEEN (b + 1) AND (c * 2)"),
        ("a BETWEEN 1 AND 2 = 3", "(a BETWEEN 1 AND 2) = 3"),
        ("a IS NOT NULL OR b ISNULL", "(a IS NOT NULL) OR (b IS NULL)"),
        ("a NOTNULL AND a NOT NULL", "(a IS NOT NULL) AND (a IS NOT NULL)"),
        ("a IS b", "a IS b"),
        ("a IS NOT b + 1", "a IS NOT (b + 1)"),
        ("a IS NOT DISTINCT FROM b", "a IS b"),
        ("a IS DISTINCT FROM b", "a IS NOT b"),
        ("x IS TRUE AND y IS NOT FALSE", "(x IS TRUE) AND (y IS NOT FALSE)"),
        ("x = TRUE OR y = false", "(x = 1) OR (y = 0)"),
        ("a IN (1, 2) AND b NOT IN (3)", "(a IN (1, 2)) AND (b NOT IN (3))"),
        ("1 IN ()", "1 IN ()"),
        ("x IN t", "x IN (SELECT * FROM t)"),
        ("x NOT IN (SELECT y FROM t)", "x NOT IN (SELECT y FROM t)"),
        ("a LIKE 'x%' ESCAPE '!'", "a LIKE 'x%' ESCAPE '!'"),
        ("a NOT ILIKE b || '%'", "a NOT LIKE (b || '%')"),
        ("a LIKE b = c", "(a LIKE b) = c"),
        ("EXISTS (SELECT 1) AND NOT EXISTS (SELECT 2)", "EXISTS (SELECT 1) AND (NOT EXISTS (SELECT 2))"),
        ("(SELECT max(a) FROM t) + 1", "(SELECT max(a) FROM t) + 1"),
        ("CASE WHEN a < 0 THEN -1 WHEN a = 0 THEN 0 ELSE 1 END",
         "CASE WHEN (a < 0) THEN (-1) WHEN (a = 0) THEN 0 ELSE 1 END"),
        ("CASE a + 1 WHEN b THEN 'x' END", "CASE (a + 1) WHEN b THEN 'x' END"),
        ("CAST(a AS VARCHAR(10))", "CAST(a AS TEXT)"),
        ("CAST(a AS double precision) + CAST(b AS bytea)", "CAST(a AS REAL) + CAST(b AS BLOB)"),
        ("a::boolean AND b::timestamp IS NULL", "CAST(a AS INTEGER) AND (CAST(b AS TEXT) IS NULL)"),
        ("count(*) + count(DISTINCT a) + count(ALL b)", "(count(*) + count(DISTINCT a)) + count(b)"),
        ("coalesce(a, b, 0) + nullif(a, 0)", "coalesce(a, b, 0) + nullif(a, 0)"),
        ("abs(-a)", "abs(-a)"),
        ("random()", "random()"),
        ("left('abc', 2)", "\"left\"('abc', 2)"),
        ("$1 + $2", "?1 + ?2"),
        ("? + ?5 + ?", "(?1 + ?5) + ?6"),
        ("t.a + \"T\".\"B c\"", "t.a + \"T\".\"B c\""),
        ("\"select\" + \"from\"", "\"select\" + \"from\""),
        ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
    ])
    func grouping(text: String, rendered: String) throws {
        #expect(try grouped(text) == rendered)
    }

    @Test(arguments: [
        ("42", Literal.integer(42)),
        ("0x10", .integer(16)),
        ("0xFFFFFFFFFFFFFFFF", .integer(-1)),
        ("9223372036854775807", .integer(.max)),
        ("9223372036854775808", .real(9_223_372_036_854_775_808)),
        ("-9223372036854775808", .integer(.min)),
        ("1.5", .real(1.5)),
        (".5e1", .real(5)),
        ("1e999", .real(.infinity)),
        ("'it''s'", .string("it's")),
        ("''", .string("")),
        ("X'0aFF'", .blob([0x0A, 0xFF])),
        ("x''", .blob([])),
        ("NULL", .null),
        ("true", .boolean(true)),
        ("FALSE", .boolean(false)),
    ])
    func literals(text: String, value: Literal) throws {
        #expect(try Parser.parseExpression(text) == .literal(value))
    }

    @Test func literalsRenderAsSQLiteReadsThem() throws {
        #expect(SQLiteRenderer.render(.literal(.real(1500))) == "1500.0")
        #expect(SQLiteRenderer.render(.literal(.real(1e20))) == "1e+20")
        #expect(SQLiteRenderer.render(.literal(.real(-.infinity))) == "-1e999")
        #expect(SQLiteRenderer.render(.literal(.integer(.min))) == "-9223372036854775808")
        #expect(SQLiteRenderer.render(.literal(.string("a\u{0}b"))) == "CAST(X'610062' AS TEXT)")
        // A quote followed by a combining mark is one Character but still a quote byte.
        #expect(SQLiteRenderer.render(.literal(.string("'\u{301}"))) == "'''\u{301}'")
        #expect(SQLiteRenderer.quotedIfNeeded("a\"b") == "\"a\"\"b\"")
        #expect(SQLiteRenderer.quotedIfNeeded("1a") == "\"1a\"")
        #expect(SQLiteRenderer.quotedIfNeeded("é") == "\"é\"")
        #expect(SQLiteRenderer.quotedIfNeeded("t_1") == "t_1")
    }

    /// Found by the soak (seed 1): a string holding a NUL, rendered as CAST(X'..' AS TEXT), was
    /// parenthesized as an operand, so the rendering changed when read back and rendered again.
    @Test func aStringWithANulRendersTheSameWhenReadBack() throws {
        let rendered = SQLiteRenderer.render(try Parser.parseStatement("SELECT 1 WHERE y = ' \u{0} false'"))
        #expect(rendered == "SELECT 1 WHERE y = CAST(X'20002066616C7365' AS TEXT)")
        #expect(SQLiteRenderer.render(try Parser.parseStatement(rendered)) == rendered)
        #expect(ParserFuzz.check("SELECT count(*) FROM\u{FFFD}t1 WHERE y=' \u{0} false'") == .parsed)
    }

    @Test func unquotedNamesFoldToLowerCaseAndQuotedNamesDoNot() throws {
        let folded = try Parser.parseExpression("MyTable.MyColumn")
        #expect(folded == .column("mycolumn", table: "mytable"))
        #expect(try Parser.parseExpression("\"MyColumn\"") == .column("MyColumn"))
        #expect(try Parser.parseExpression("ÀB") == .column("Àb"))
        #expect(try Parser.parseExpression("COUNT(*)") == Expression(.function(FunctionCall(Identifier("count"), .star))))
    }

    @Test func keywordsAreCaseInsensitiveAndCommentsAreSpace() throws {
        let expression = try Parser.parseExpression("a /* one /* nested */ comment */ iS NoT -- trailing\n NuLl")
        #expect(expression == Expression(.isNull(.column("a"), negated: true)))
    }

    @Test func locationsPointAtOperatorsAndNamesButDoNotTakePartInEquality() throws {
        let expression = try Parser.parseExpression("  a +  b")
        #expect(expression.location.offset == 4)
        guard case .binary(_, let left, let right) = expression.kind else {
            Issue.record("expected a binary expression")
            return
        }
        #expect(left.location.offset == 2)
        #expect(right.location.offset == 7)
        #expect(expression == (try Parser.parseExpression("a+b")))
        #expect(expression.hashValue == (try Parser.parseExpression("a+b")).hashValue)
    }

    @Test func characterPositionsCountCharactersNotBytes() {
        let text = "SELECT 'é', x"
        #expect(SourceLocation(offset: 13).characterPosition(in: text) == 13)
        #expect(SourceLocation(offset: 0).characterPosition(in: text) == 1)
        #expect(SourceLocation(offset: 99).characterPosition(in: text) == 14)
    }
}
