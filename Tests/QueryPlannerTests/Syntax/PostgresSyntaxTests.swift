import Testing
import QueryPlanner

/// The PostgreSQL spellings psql and drivers use in their catalog queries, as the parser reads
/// them: schema-qualified names, regex operators, OPERATOR(...), COLLATE, catalog casts and
/// E'' strings. Read through the renderer, which shows what SQLite will run.
@Suite struct PostgresSyntaxTests {
    func rendered(_ text: String) throws -> String {
        SQLiteRenderer.render(try Parser.parseStatement(text))
    }

    func expression(_ text: String) throws -> String {
        SQLiteRenderer.render(try Parser.parseExpression(text))
    }

    @Test(arguments: [
        ("SELECT relname FROM pg_catalog.pg_class c", #"SELECT "relname" FROM "pg_class" AS "c""#),
        ("SELECT * FROM public.t", #"SELECT * FROM "t""#),
        ("SELECT tables.table_name FROM information_schema.tables",
         #"SELECT "tables"."table_name" FROM "information_schema.tables" AS "tables""#),
        ("SELECT t.x FROM information_schema.columns t", #"SELECT "t"."x" FROM "information_schema.columns" AS "t""#),
    ])
    func schemaQualifiedTables(text: String, sqlite: String) throws {
        let result = try rendered(text)
        #expect(result.replacingOccurrences(of: "\"", with: "") == sqlite.replacingOccurrences(of: "\"", with: ""), "\(text) → \(result)")
        // The rendering parses back to itself: schema resolution is done once, at parse time.
        #expect(try rendered(result) == result)
    }

    /// What poolers and drivers send to reset a session (asyncpg, pgbouncer, psycopg 3), and
    /// now() and LOCALTIMESTAMP as CURRENT_TIMESTAMP.
    @Test func sessionCommandsAndNow() throws {
        func command(_ text: String) throws -> SessionCommand? {
            guard case .session(let command) = try Parser.parseStatement(text) else { return nil }
            return command
        }
        #expect(try command("DEALLOCATE ALL")?.kind == .deallocate(nil))
        guard case .deallocate(let statement)? = try command("deallocate prepare _pg3_0")?.kind else { throw SQLError(.syntaxError, "not DEALLOCATE") }
        #expect(statement?.name == "_pg3_0")
        #expect(try command("DISCARD ALL")?.tag == "DISCARD ALL")
        #expect(try command("DISCARD TEMPORARY")?.kind == .discard(.temporary))
        #expect(try command("CLOSE ALL")?.tag == "CLOSE CURSOR ALL")
        guard case .close(let cursor)? = try command("CLOSE c1")?.kind else { throw SQLError(.syntaxError, "not CLOSE") }
        #expect(cursor?.name == "c1")
        #expect(try command("UNLISTEN *")?.kind == .unlisten(nil))
        #expect(try command("UNLISTEN chan")?.tag == "UNLISTEN")
        #expect(throws: SQLError.self) { try Parser.parseStatement("DISCARD EVERYTHING") }
        #expect(try rendered("SELECT now(), localtimestamp") == (try rendered("SELECT current_timestamp, current_timestamp")))
    }

    /// Row-locking clauses ORMs send are accepted and dropped (a block's reads already hold their
    /// shards until it ends).
    @Test func lockingClausesAreAcceptedAndDropped() throws {
        for clause in ["FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", "FOR UPDATE OF t NOWAIT",
                       "FOR UPDATE OF t, public.t SKIP LOCKED", "LIMIT 1 FOR UPDATE", "FOR UPDATE LIMIT 1"] {
            let result = try rendered("SELECT a FROM t WHERE a = 1 \(clause)")
            #expect(!result.contains("FOR") && !result.contains("SKIP") && !result.contains("NOWAIT"), "\(clause) → \(result)")
            #expect(result.contains("LIMIT 1") == clause.contains("LIMIT"), "\(clause) → \(result)")
        }
        #expect(throws: SQLError.self) { try Parser.parseStatement("SELECT a FROM t FOR DELETE") }
        #expect(throws: SQLError.self) { try Parser.parseStatement("SELECT a FROM t FOR UPDATE SKIP") }
    }

    @Test func anUnknownSchemaDoesNotExist() {
        #expect { try Parser.parseStatement("SELECT * FROM main.t") } throws: { error in
            let error = error as? SQLError
            return error?.state == .invalidSchemaName && error?.message == "schema \"main\" does not exist" && error?.position == 15
        }
    }

    @Test(arguments: [
        ("a ~ 'x'", "mesh_regex_match(a, 'x', 0)"),
        ("a ~* 'x'", "mesh_regex_match(a, 'x', 1)"),
        ("a !~ 'x'", "NOT mesh_regex_match(a, 'x', 0)"),
        ("a !~* 'x'", "NOT mesh_regex_match(a, 'x', 1)"),
        // A regex binds tighter than = and AND, looser than ||.
        ("a ~ 'x' AND b", "mesh_regex_match(a, 'x', 0) AND b"),
        ("a || b ~ c = 1", "mesh_regex_match(a || b, c, 0) = 1"),
        ("c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default", #"mesh_regex_match("c"."relname", '^(t)$', 0)"#),
        ("a OPERATOR(pg_catalog.=) 1", "a = 1"),
        ("a OPERATOR(+) 1", "a + 1"),
        ("x COLLATE \"C\" = y", "x = y"),
        ("pg_catalog.pg_get_userbyid(c.relowner)", #"pg_get_userbyid("c"."relowner")"#),
        ("c.oid::pg_catalog.regclass::pg_catalog.text", #"CAST(CAST("c"."oid" AS INTEGER) AS TEXT)"#),
        ("'t'::name", "CAST('t' AS TEXT)"),
        ("$1::int8", "CAST(?1 AS INTEGER)"),
        ("E'a\\nb\\\\c\\'d'", "'a\nb\\c''d'"),
        ("current_user", "current_user()"),
        ("current_user()", "current_user()"),
    ])
    func postgresExpressions(text: String, sqlite: String) throws {
        let result = try expression(text)
        #expect(result.replacingOccurrences(of: "\"", with: "") == sqlite.replacingOccurrences(of: "\"", with: ""), "\(text) → \(result)")
    }

    @Test func unknownOperatorsAndEscapesAreRefusedByName() {
        #expect { try Parser.parseExpression("a OPERATOR(pg_catalog.@@) b") } throws: { _ in true }
        #expect { try Parser.parseExpression("E'\\x41'") } throws: { error in
            (error as? SQLError)?.message.contains("is not supported") == true
        }
    }
}

/// PostgreSQL statements and array forms beyond expressions.
@Suite struct PostgresStatementTests {
    @Test(arguments: [
        ("CREATE USER alice WITH PASSWORD 'p''q'", "CREATE USER alice WITH PASSWORD 'p''q'"),
        ("create user alice password 'x'", "CREATE USER alice WITH PASSWORD 'x'"),
        ("ALTER USER alice PASSWORD 'y'", "ALTER USER alice WITH PASSWORD 'y'"),
        ("DROP USER IF EXISTS alice", "DROP USER IF EXISTS alice"),
        ("DROP USER alice", "DROP USER alice"),
    ])
    func userStatements(text: String, rendered: String) throws {
        let result = SQLiteRenderer.render(try Parser.parseStatement(text))
        #expect(result.replacingOccurrences(of: "\"", with: "") == rendered)
        #expect(try Parser.parseStatement(result) == Parser.parseStatement(text))
    }

    @Test func userOptionsOtherThanPasswordAreRefusedByName() {
        #expect { try Parser.parseStatement("CREATE USER a SUPERUSER") } throws: { error in
            (error as? SQLError)?.message == "user option SUPERUSER is not supported"
        }
    }

    @Test func arrayConstructorsAndAnyBecomeGatewaySQL() throws {
        let array = SQLiteRenderer.render(try Parser.parseExpression("ARRAY(SELECT b.rolname FROM r b ORDER BY 1)"))
        #expect(array.replacingOccurrences(of: "\"", with: "")
                == "(SELECT ('{' || coalesce(group_concat(mesh_element, ','), '')) || '}' FROM (SELECT b.rolname AS mesh_element FROM r AS b ORDER BY 1) AS mesh_array)")
        let any = SQLiteRenderer.render(try Parser.parseExpression("oid = any (pol.polroles)"))
        #expect(any.replacingOccurrences(of: "\"", with: "") == "mesh_array_contains(pol.polroles, oid)")
        let subquery = SQLiteRenderer.render(try Parser.parseExpression("x = ANY (SELECT y FROM t)"))
        #expect(subquery.replacingOccurrences(of: "\"", with: "") == "x IN (SELECT y FROM t)")
    }
}

/// PostgreSQL's dollar-quoted strings (`$$…$$`, `$tag$…$tag$`): the text exactly as written.
@Suite struct DollarQuoteTests {
    @Test(arguments: [
        ("$$plain$$", "'plain'"),
        ("$$it's$$", "'it''s'"),
        ("$$$$", "''"),
        ("$fn$ a $$ inside $ and $f $fn$", "' a $$ inside $ and $f '"),
        ("$a1$x$a1$ || $1", "'x' || ?1"),
        ("$$line\none\\n$$", "'line\none\\n'"),
        ("$_$ü$_$", "'ü'"),
    ])
    func dollarQuotedStringsAreTakenLiterally(text: String, sqlite: String) throws {
        #expect(SQLiteRenderer.render(try Parser.parseExpression(text)) == sqlite)
    }

    @Test(arguments: [
        ("SELECT $$never closed", "unterminated dollar-quoted string at or near \"$$\"", 8),
        ("SELECT $tag$x$other$", "unterminated dollar-quoted string at or near \"$tag$\"", 8),
        ("SELECT $a-b$ x", "syntax error at or near \"$a\"", 8),
        ("SELECT $", "syntax error at or near \"$\"", 8),
    ])
    func badDollarQuotesNameTheirPosition(text: String, message: String, position: Int) {
        #expect { try Parser.parseStatement(text) } throws: { error in
            let error = error as? SQLError
            return error?.state == .syntaxError && error?.message == message && error?.position == position
        }
    }

    @Test func aParameterIsNotADollarQuote() throws {
        #expect(SQLiteRenderer.render(try Parser.parseExpression("$1 + $2")) == "?1 + ?2")
    }
}
