import Testing
import QueryPlanner

/// Each statement kind: the tree the parser builds and the SQLite text it renders to.
@Suite struct StatementParsingTests {
    func rendered(_ text: String) throws -> String {
        SQLiteRenderer.render(try Parser.parseStatement(text))
    }

    // MARK: - DDL

    @Test func createTableKeepsTypesAsWrittenAndShardOptionsOutOfTheRendering() throws {
        let text = """
            CREATE TABLE IF NOT EXISTS Accounts (
              id BIGINT PRIMARY KEY,
              owner VARCHAR(40) NOT NULL UNIQUE,
              balance NUMERIC(12, 2) DEFAULT 0 NOT NULL CHECK (balance >= 0),
              rate DOUBLE PRECISION NULL,
              note CHARACTER VARYING(8), code CHAR(2), active BOOLEAN DEFAULT TRUE,
              avatar BYTEA, created TIMESTAMP, n SMALLINT, f FLOAT, d DECIMAL, t TEXT, b BLOB, i INT, r REAL, x,
              CONSTRAINT one_owner UNIQUE (owner, code DESC),
              CHECK (rate < 1)
            ) SHARDS 8 SHARD BY (id)
            """
        guard case .createTable(let table) = try Parser.parseStatement(text) else {
            Issue.record("expected CREATE TABLE")
            return
        }
        #expect(table.ifNotExists)
        #expect(table.name.name == "accounts")
        #expect(table.shardBy == [Identifier("id")])
        #expect(table.shardCount == 8)
        #expect(table.columns.count == 17)
        #expect(table.columns[1].type == .named("varchar", modifiers: [40]))
        #expect(table.columns[2].type == .named("numeric", modifiers: [12, 2]))
        #expect(table.columns[2].constraints.map(\.kind) == [
            .defaultValue(.literal(.integer(0))), .notNull,
            .check(Expression(.binary(.greaterOrEqual, .column("balance"), .literal(.integer(0))))),
        ])
        #expect(table.columns[3].type == .named("double precision"))
        #expect(table.columns[4].type == .named("character varying", modifiers: [8]))
        #expect(table.columns[16].type == nil)
        #expect(table.constraints.count == 2)
        #expect(table.constraints[0].name == Identifier("one_owner"))
        #expect(table.constraints[0].kind == .unique([IndexedColumn(Identifier("owner")),
                                                      IndexedColumn(Identifier("code"), direction: .descending)]))
        #expect(try rendered(text) == """
            CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL UNIQUE, \
            balance NUMERIC DEFAULT (0) NOT NULL CHECK (balance >= 0), rate REAL NULL, note TEXT, code TEXT, \
            active INTEGER DEFAULT (1), avatar BLOB, created TEXT, n INTEGER, f REAL, d NUMERIC, t TEXT, b BLOB, \
            i INTEGER, r REAL, x, CONSTRAINT one_owner UNIQUE (owner, code DESC), CHECK (rate < 1))
            """)
    }

    @Test func typeNamesMapToSQLiteAffinities() {
        #expect(TypeName.named("varchar", modifiers: [20]).affinity == .text)
        #expect(TypeName.named("boolean").sqliteDeclaredType == "INTEGER")
        #expect(TypeName.named("timestamp").sqliteDeclaredType == "TEXT")
        #expect(TypeName.named("bytea").sqliteDeclaredType == "BLOB")
        #expect(TypeName.named("decimal").affinity == .numeric)
        #expect(TypeName.named("float8").affinity == .real)
        #expect(TypeName.named("varchar", modifiers: [20]).description == "varchar(20)")
    }

    @Test(arguments: [
        ("CREATE UNIQUE INDEX IF NOT EXISTS t1i ON t1 (a DESC, b ASC, c)",
         "CREATE UNIQUE INDEX IF NOT EXISTS t1i ON t1 (a DESC, b ASC, c)"),
        ("create index i on t(a) where a > 0", "CREATE INDEX i ON t (a) WHERE a > 0"),
        ("DROP INDEX IF EXISTS t1i", "DROP INDEX IF EXISTS t1i"),
        ("DROP TABLE t1", "DROP TABLE t1"),
        ("DROP VIEW IF EXISTS v RESTRICT", "DROP VIEW IF EXISTS v"),
        ("CREATE VIEW v (x, y) AS SELECT a, b FROM t", "CREATE VIEW v (x, y) AS SELECT a, b FROM t"),
        ("CREATE TEMP VIEW IF NOT EXISTS v AS SELECT 1", "CREATE TEMP VIEW IF NOT EXISTS v AS SELECT 1"),
        ("ALTER TABLE t ADD COLUMN c INT DEFAULT -1", "ALTER TABLE t ADD COLUMN c INTEGER DEFAULT (-1)"),
        ("ALTER TABLE t ADD c text", "ALTER TABLE t ADD COLUMN c TEXT"),
        // pgbench -i: several tables in one DROP, storage parameters, ADD PRIMARY KEY, TRUNCATE, VACUUM.
        ("drop table if exists pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers",
         "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers"),
        ("create table pgbench_tellers(tid int not null,bid int,tbalance int,filler char(84)) with (fillfactor=100)",
         "CREATE TABLE pgbench_tellers (tid INTEGER NOT NULL, bid INTEGER, tbalance INTEGER, filler TEXT)"),
        ("alter table pgbench_branches add primary key (bid)", "ALTER TABLE pgbench_branches ADD PRIMARY KEY (bid)"),
        ("ALTER TABLE t ADD CONSTRAINT t_key PRIMARY KEY (a, b)", "ALTER TABLE t ADD CONSTRAINT t_key PRIMARY KEY (a, b)"),
        ("truncate table pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers",
         "TRUNCATE pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers"),
        ("TRUNCATE ONLY t * RESTART IDENTITY RESTRICT", "TRUNCATE t"),
        ("vacuum analyze pgbench_branches", "VACUUM ANALYZE pgbench_branches"),
        ("VACUUM (VERBOSE, ANALYZE true) a, b", "VACUUM ANALYZE a, b"),
        ("VACUUM FULL FREEZE", "VACUUM"),
        ("analyze verbose t", "ANALYZE t"),
        ("ANALYZE", "ANALYZE"),
    ])
    func schemaStatements(text: String, sqlite: String) throws {
        #expect(try rendered(text) == sqlite)
    }

    @Test func storageParametersAreKeptAndNeverRendered() throws {
        guard case .createTable(let table) = try Parser.parseStatement(
            "CREATE TABLE t (a INT) WITH (fillfactor = 90, autovacuum_enabled = off, toast.autovacuum_enabled = 'false') SHARDS 2") else {
            Issue.record("expected CREATE TABLE")
            return
        }
        #expect(table.storageParameters == ["fillfactor=90", "autovacuum_enabled=off", "toast.autovacuum_enabled=false"])
        #expect(table.shardCount == 2)
        #expect(throws: SQLError.self) { try Parser.parseStatement("CREATE TABLE t (a INT) WITH (fillfactor = )") }
        #expect(throws: SQLError.self) { try Parser.parseStatement("ALTER TABLE t ADD UNIQUE (a)") }
        #expect(throws: SQLError.self) { try Parser.parseStatement("TRUNCATE t CASCADE") }
        #expect(throws: SQLError.self) { try Parser.parseStatement("ANALYZE t (a)") }
        guard case .drop(let drop) = try Parser.parseStatement("DROP TABLE a, \"B\"") else {
            Issue.record("expected DROP")
            return
        }
        #expect(drop.names == [Identifier("a"), Identifier("B")])
    }

    @Test func shardOptionsComeInEitherOrderAtMostOnce() throws {
        guard case .createTable(let table) = try Parser.parseStatement("CREATE TABLE t (a INT) SHARD BY (a, b)") else {
            Issue.record("expected CREATE TABLE")
            return
        }
        #expect(table.shardBy == [Identifier("a"), Identifier("b")])
        #expect(table.shardCount == nil)
        #expect(throws: SQLError.self) { try Parser.parseStatement("CREATE TABLE t (a INT) SHARDS 2 SHARDS 3") }
        #expect { try Parser.parseStatement("CREATE TABLE t (a INT) SHARDS 0") } throws: { error in
            (error as? SQLError)?.state == .invalidParameterValue && (error as? SQLError)?.position == 31
        }
    }

    // MARK: - DML

    @Test(arguments: [
        ("INSERT INTO t1(e,c,b,d,a) VALUES(103,102,100,101,104)", "INSERT INTO t1 (e, c, b, d, a) VALUES (103, 102, 100, 101, 104)"),
        ("INSERT INTO t VALUES (1, 'a'), (2, NULL)", "INSERT INTO t VALUES (1, 'a'), (2, NULL)"),
        ("INSERT INTO t DEFAULT VALUES", "INSERT INTO t DEFAULT VALUES"),
        ("INSERT INTO t (a) SELECT b FROM s WHERE b > 1", "INSERT INTO t (a) SELECT b FROM s WHERE b > 1"),
        ("INSERT INTO t SELECT * FROM s ON CONFLICT DO NOTHING",
         "INSERT INTO t SELECT * FROM s WHERE 1 ON CONFLICT DO NOTHING"),
        ("INSERT INTO t SELECT 1 UNION SELECT a FROM s ON CONFLICT DO NOTHING",
         "INSERT INTO t SELECT 1 UNION SELECT a FROM s WHERE 1 ON CONFLICT DO NOTHING"),
        ("INSERT INTO t SELECT a FROM s ORDER BY a ON CONFLICT DO NOTHING",
         "INSERT INTO t SELECT a FROM s ORDER BY a ON CONFLICT DO NOTHING"),
        ("INSERT INTO t (id, n) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = t.n + excluded.n WHERE t.n < 10 RETURNING *",
         "INSERT INTO t (id, n) VALUES (?1, 1) ON CONFLICT (id) DO UPDATE SET n = t.n + excluded.n WHERE t.n < 10 RETURNING *"),
        ("INSERT OR REPLACE INTO t1 VALUES(2, 'x')", "INSERT OR REPLACE INTO t1 VALUES (2, 'x')"),
        ("REPLACE INTO t1 VALUES(2, 'replace')", "INSERT OR REPLACE INTO t1 VALUES (2, 'replace')"),
        ("INSERT OR IGNORE INTO t AS x (a) VALUES (1) RETURNING a AS b, x.*", "INSERT OR IGNORE INTO t AS x (a) VALUES (1) RETURNING a AS b, x.*"),
        ("WITH s AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM s", "WITH s AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM s"),
        ("UPDATE t SET a = a + 1, b = 'x' WHERE c IS NULL RETURNING a", "UPDATE t SET a = a + 1, b = 'x' WHERE c IS NULL RETURNING a"),
        ("UPDATE OR IGNORE t AS u SET a = 1", "UPDATE OR IGNORE t AS u SET a = 1"),
        ("DELETE FROM t WHERE a IN (SELECT b FROM s) RETURNING *", "DELETE FROM t WHERE a IN (SELECT b FROM s) RETURNING *"),
        ("DELETE FROM t", "DELETE FROM t"),
    ])
    func dataChanges(text: String, sqlite: String) throws {
        #expect(try rendered(text) == sqlite)
    }

    @Test func insertKeepsItsPartsApart() throws {
        let statement = try Parser.parseStatement(
            "INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = excluded.b RETURNING b")
        guard case .insert(let insert) = statement, case .query(let rows) = insert.source,
              case .values(let values) = rows.body.first else {
            Issue.record("expected INSERT ... VALUES")
            return
        }
        #expect(insert.columns == [Identifier("a"), Identifier("b")])
        #expect(values.rows == [[.literal(.integer(1)), .literal(.integer(2))]])
        #expect(insert.onConflict == OnConflict(target: [Identifier("a")], action: .doUpdate(
            [Assignment(Identifier("b"), .column("b", table: "excluded"))], whereClause: nil)))
        #expect(insert.returning == [.expression(.column("b"), alias: nil)])
    }

    // MARK: - Queries

    @Test(arguments: [
        ("SELECT * FROM t1", "SELECT * FROM t1"),
        ("select distinct a, t.b AS x, c y, t.* from t", "SELECT DISTINCT a, t.b AS x, c AS y, t.* FROM t"),
        ("SELECT ALL a FROM t", "SELECT a FROM t"),
        ("SELECT a FROM t1, t2 AS x, (SELECT 1) s WHERE a = x.b",
         "SELECT a FROM t1, t2 AS x, (SELECT 1) AS s WHERE a = x.b"),
        ("SELECT * FROM a JOIN b ON a.x = b.x LEFT OUTER JOIN c USING (y) CROSS JOIN d INNER JOIN e ON true",
         "SELECT * FROM a JOIN b ON a.x = b.x LEFT JOIN c USING (y) CROSS JOIN d JOIN e ON 1"),
        ("SELECT * FROM a, (b JOIN c ON b.x = c.x)", "SELECT * FROM a, (b JOIN c ON b.x = c.x)"),
        ("SELECT count(*) FROM t1 NOT INDEXED", "SELECT count(*) FROM t1 NOT INDEXED"),
        ("SELECT a FROM t INDEXED BY i", "SELECT a FROM t INDEXED BY i"),
        ("SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1 ORDER BY 2 DESC, a NULLS LAST LIMIT 10 OFFSET 5",
         "SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1 ORDER BY 2 DESC, a NULLS LAST LIMIT 10 OFFSET 5"),
        ("SELECT a FROM t LIMIT 5, 10", "SELECT a FROM t LIMIT 10 OFFSET 5"),
        ("SELECT a FROM t OFFSET 3", "SELECT a FROM t LIMIT -1 OFFSET 3"),
        ("SELECT a FROM t OFFSET 3 ROWS LIMIT 2", "SELECT a FROM t LIMIT 2 OFFSET 3"),
        ("SELECT a FROM t LIMIT ALL", "SELECT a FROM t"),
        ("SELECT a FROM t UNION SELECT b FROM s UNION ALL SELECT c FROM u INTERSECT SELECT 1 EXCEPT SELECT 2 ORDER BY 1 LIMIT 3",
         "SELECT a FROM t UNION SELECT b FROM s UNION ALL SELECT c FROM u INTERSECT SELECT 1 EXCEPT SELECT 2 ORDER BY 1 LIMIT 3"),
        ("WITH x (a) AS (SELECT 1), y AS (SELECT a FROM x) SELECT * FROM y",
         "WITH x (a) AS (SELECT 1), y AS (SELECT a FROM x) SELECT * FROM y"),
        ("VALUES (1, 'a'), (2, 'b')", "VALUES (1, 'a'), (2, 'b')"),
        ("SELECT 1 UNION VALUES (2)", "SELECT 1 UNION VALUES (2)"),
        ("SELECT \"Group\".\"order\" FROM \"Group\"", "SELECT \"Group\".\"order\" FROM \"Group\""),
        ("SELECT t.order FROM t", "SELECT t.\"order\" FROM t"),
        ("SELECT a AS from FROM t", "SELECT a AS \"from\" FROM t"),
    ])
    func queries(text: String, sqlite: String) throws {
        #expect(try rendered(text) == sqlite)
    }

    @Test func compoundsAreFlatAndOrderByBelongsToTheWhole() throws {
        guard case .select(let query) = try Parser.parseStatement("SELECT 1 UNION SELECT 2 EXCEPT SELECT 3 ORDER BY 1") else {
            Issue.record("expected SELECT")
            return
        }
        #expect(query.body.compounds.map(\.setOperator) == [.union, .except])
        #expect(query.orderBy == [OrderingTerm(.literal(.integer(1)))])
    }

    // MARK: - Session, transactions, scripts

    @Test(arguments: [
        ("SET mesh.read_consistency = 'linearizable'", Statement.set(SetVariable(name: "mesh.read_consistency", value: .values(["linearizable"])))),
        ("set Search_Path TO public, \"Other\"", .set(SetVariable(name: "search_path", value: .values(["public", "Other"])))),
        ("SET extra_float_digits = -3", .set(SetVariable(name: "extra_float_digits", value: .values(["-3"])))),
        ("SET x TO DEFAULT", .set(SetVariable(name: "x", value: .defaultValue))),
        ("SET SESSION TIME ZONE 'UTC'", .set(SetVariable(name: "timezone", value: .values(["UTC"])))),
        ("RESET application_name", .set(SetVariable(name: "application_name", value: .defaultValue))),
        ("SHOW server_version", .show(Show(name: "server_version"))),
        ("SHOW ALL", .show(Show(name: "all"))),
        ("SHOW TRANSACTION ISOLATION LEVEL", .show(Show(name: "transaction_isolation"))),
        ("BEGIN", .transaction(TransactionStatement(.begin))),
        ("begin transaction", .transaction(TransactionStatement(.begin))),
        ("START TRANSACTION", .transaction(TransactionStatement(.begin))),
        ("COMMIT WORK", .transaction(TransactionStatement(.commit))),
        ("END", .transaction(TransactionStatement(.commit))),
        ("ROLLBACK", .transaction(TransactionStatement(.rollback))),
        ("ABORT", .transaction(TransactionStatement(.rollback))),
        ("EXPLAIN SELECT 1", .explain(Explain(statement: .select(Select(body: SelectBody(.select(SelectCore(
            items: [.expression(.literal(.integer(1)), alias: nil)])))))))),
    ])
    func sessionStatements(text: String, statement: Statement) throws {
        #expect(try Parser.parseStatement(text) == statement)
    }

    @Test func explainAnalyzeWrapsAnyStatement() throws {
        guard case .explain(let explain) = try Parser.parseStatement("EXPLAIN ANALYZE DELETE FROM t WHERE a = 1") else {
            Issue.record("expected EXPLAIN")
            return
        }
        #expect(explain.analyze)
        #expect(SQLiteRenderer.render(explain.statement) == "DELETE FROM t WHERE a = 1")
        #expect(try rendered("EXPLAIN ANALYZE SELECT 1") == "EXPLAIN ANALYZE SELECT 1")
    }

    @Test func scriptsHoldSeveralStatementsAndEmptyOnes() throws {
        let statements = try Parser.parseStatements("""
            -- a script
            CREATE TABLE t (a INT);;
            INSERT INTO t VALUES (1); /* and */ SELECT a FROM t;
            """)
        #expect(statements.count == 3)
        #expect(try Parser.parseStatements(" ; -- nothing\n ;").isEmpty)
        #expect { try Parser.parseStatement("SELECT 1; SELECT 2") } throws: { error in
            (error as? SQLError)?.message == "cannot insert multiple commands into a prepared statement"
        }
        #expect(try Parser.parseStatement("SELECT 1;") == Parser.parseStatement("SELECT 1"))
    }

    @Test func questionMarksAreNumberedPerStatement() throws {
        let statements = try Parser.parseStatements("SELECT ?, ?; SELECT ?")
        #expect(statements.map(SQLiteRenderer.render) == ["SELECT ?1, ?2", "SELECT ?1"])
    }
}
