import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// psql's `\dt`, `\d t` and `\l`, and the functions and result types drivers rely on, against a
/// four-node cluster: the catalog queries PostgreSQL clients really send
/// (`PostgresClientQueries`) return what psql needs to print the table.
@Suite(.heavy, .serialized) struct PostgresCatalogTests {
    static func withSession(_ body: (SQLSession) async throws -> Void) async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            let session = SQLSession(gateway: demo.nodes[0].gateway, backendPID: 4242, user: "meshdb")
            try await body(session)
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }

    static func rows(_ session: SQLSession, _ sql: String) async throws -> [[SQLiteValue]] {
        try await session.execute(sql)[0].rows
    }

    @Test func psqlListsAndDescribesTables() async throws {
        try await Self.withSession { session in
            _ = try await session.execute("""
                CREATE TABLE t (id integer PRIMARY KEY, name varchar(20) NOT NULL, score double precision, note text);
                CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(10, 2));
                CREATE VIEW rich AS SELECT id FROM accounts WHERE balance > 100
                """)
            let tables = try await Self.rows(session, PostgresClientQueries.listTables)
            #expect(tables == [[.text("public"), .text("accounts"), .text("table"), .text("meshdb")],
                               [.text("public"), .text("t"), .text("table"), .text("meshdb")]])

            let lookup = try await Self.rows(session, PostgresClientQueries.describeLookup)
            #expect(lookup.count == 1)
            guard lookup.count == 1, case .integer(let oid) = lookup[0][0] else { return }
            #expect(oid == PostgresCatalog.oid("r", "t"))
            #expect(Array(lookup[0].dropFirst()) == [.text("public"), .text("t")])

            let relation = try await Self.rows(session, PostgresClientQueries.describeRelation(oid))
            #expect(relation.count == 1)
            #expect(relation.first?[1] == .text("r"))
            #expect(relation.first?[2] == .integer(1))
            #expect(relation.first?[14] == .text("heap"))

            let columns = try await Self.rows(session, PostgresClientQueries.describeColumns(oid))
            #expect(columns.map { Array($0.prefix(4)) } == [
                [.text("id"), .text("integer"), .null, .integer(1)],
                [.text("name"), .text("character varying(20)"), .null, .integer(1)],
                [.text("score"), .text("double precision"), .null, .integer(0)],
                [.text("note"), .text("text"), .null, .integer(0)],
            ])

            let indexes = try await Self.rows(session, PostgresClientQueries.describeIndexes(oid))
            #expect(indexes.count == 1)
            #expect(indexes.first.map { Array($0.prefix(8)) } == [
                .text("t_pkey"), .integer(1), .integer(1), .integer(0), .integer(1),
                .text("CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)"), .text("PRIMARY KEY (id)"), .text("p"),
            ])
            // MeshDB has no policies, extended statistics, publications, inheritance or partitions: psql's
            // queries for them run and find nothing.
            for query in [PostgresClientQueries.describePolicies(oid), PostgresClientQueries.describeStatistics(oid),
                          PostgresClientQueries.describePublications(oid),
                          PostgresClientQueries.describeParents(oid), PostgresClientQueries.describePartitions(oid)] {
                #expect(try await Self.rows(session, query) == [])
            }
            // \d of a view shows its query.
            let view = try await Self.rows(session, "SELECT pg_catalog.pg_get_viewdef('\(PostgresCatalog.oid("r", "rich"))'::pg_catalog.oid, true)")
            #expect(view.count == 1 && view[0][0] != .null)
            let roles = try await Self.rows(session, PostgresClientQueries.listRoles)
            #expect(roles == [[.text("meshdb"), .integer(1), .integer(1), .integer(1), .integer(1), .integer(1), .integer(-1), .null,
                               .text("{}"), .integer(0), .integer(1)]])
        }
    }

    @Test func psqlListsDatabasesAndSchemas() async throws {
        try await Self.withSession { session in
            let databases = try await Self.rows(session, PostgresClientQueries.listDatabases)
            #expect(databases == [[.text("meshdb"), .text("meshdb"), .text("UTF8"), .text("C"), .text("C"), .null, .text("libc"), .null]])
            _ = try await session.execute("CREATE TABLE items (sku text PRIMARY KEY, price numeric(8,2))")
            let columns = try await Self.rows(session, """
                SELECT column_name, data_type, is_nullable, udt_name FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position
                """)
            #expect(columns == [[.text("sku"), .text("text"), .text("NO"), .text("text")],
                                [.text("price"), .text("numeric"), .text("YES"), .text("numeric")]])
            let tables = try await Self.rows(session, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            #expect(tables == [[.text("items")]])
            let nodes = try await Self.rows(session, "SELECT count(*) FROM mesh_nodes")
            #expect(nodes == [[.integer(4)]])
        }
    }

    @Test func sessionFunctionsDriversCall() async throws {
        try await Self.withSession { session in
            let row = try await Self.rows(session, """
                SELECT current_database(), current_schema(), current_user, session_user, pg_backend_pid(),
                       current_setting('server_version'), pg_catalog.current_schemas(true), version()
                """)[0]
            #expect(Array(row.prefix(7)) == [.text("meshdb"), .text("public"), .text("meshdb"), .text("meshdb"), .integer(4242),
                                             .text(MeshDBVersion.postgresCompatible), .text("{pg_catalog,public}")])
            guard case .text(let version) = row[7] else { Issue.record("version() is not text"); return }
            #expect(version.hasPrefix("PostgreSQL 15.0 (MeshDB"))
            await #expect(throws: SQLError.self) { try await session.execute("SELECT current_setting('no_such_setting')") }

            _ = try await session.execute("""
                CREATE TABLE people (id int PRIMARY KEY, name text);
                INSERT INTO people VALUES (1, 'Ann'), (2, 'bob'), (3, 'Cy')
                """)
            #expect(try await Self.rows(session, "SELECT id FROM people WHERE name ~ '^[A-Z]' ORDER BY id") == [[.integer(1)], [.integer(3)]])
            #expect(try await Self.rows(session, "SELECT id FROM people WHERE name ~* '^b' ORDER BY id") == [[.integer(2)]])
            #expect(try await Self.rows(session, "SELECT id FROM people WHERE name !~ 'n$' ORDER BY id") == [[.integer(2)], [.integer(3)]])
            #expect(try await Self.rows(session, "SELECT s, '{5,6,7}'::int2[][s] FROM pg_catalog.generate_series(1, 4) s")
                    == [[.integer(1), .text("5")], [.integer(2), .text("6")], [.integer(3), .text("7")], [.integer(4), .null]])
            #expect(try await Self.rows(session, "SELECT string_agg(name, '+') FROM (SELECT name FROM people ORDER BY id)") == [[.text("Ann+bob+Cy")]])
            #expect(try await Self.rows(session, "SELECT 2 = ANY('{1,2}'), 3 = ANY('{1,2}'), ARRAY(SELECT id FROM people ORDER BY id)")
                    == [[.integer(1), .integer(0), .text("{1,2,3}")]])
            await #expect(throws: SQLError.self) { try await session.execute("SELECT count(*) FROM generate_series(1, 2000000)") }
            // In a write, a gateway function of constants is a value; over the row it is refused.
            _ = try await session.execute("UPDATE people SET name = current_user WHERE id = 2")
            #expect(try await Self.rows(session, "SELECT name FROM people WHERE id = 2") == [[.text("meshdb")]])
            await #expect(throws: SQLError.self) { try await session.execute("DELETE FROM people WHERE name ~ '^A'") }
            let long = String(repeating: "a", count: PostgresFunctions.regexPatternBytesMax + 1)
            await #expect(throws: SQLError.self) { try await session.execute("SELECT 1 WHERE 'a' ~ '\(long)'") }
            await #expect(throws: SQLError.self) { try await session.execute("SELECT name COLLATE \"de_DE\" FROM people") }
        }
    }

    @Test func resultColumnTypesCarryPostgresOIDs() async throws {
        try await Self.withSession { session in
            _ = try await session.execute("""
                CREATE TABLE m (id bigint PRIMARY KEY, n integer, label varchar(10), price numeric(8,2), ratio double precision, ok boolean);
                INSERT INTO m VALUES (1, 2, 'x', 1.5, 0.5, true)
                """)
            let result = try await session.execute("""
                SELECT id, n, label, price, ratio, ok, count(*), sum(n), sum(id), avg(n), avg(ratio), 1, 1.5, 'text', CAST(n AS text), n::bigint
                FROM m GROUP BY id, n, label, price, ratio, ok
                """)[0]
            #expect(result.columnTypes.map { $0?.oid } == [20, 23, 1043, 1700, 701, 16, 20, 20, 1700, 1700, 701, 23, 1700, 25, 25, 20])
            let star = try await session.execute("SELECT * FROM m")[0]
            #expect(star.columnTypes == [.int8, .int4, .varchar, .numeric, .float8, .bool])
            let catalog = try await session.execute("SELECT oid, relname, relkind FROM pg_catalog.pg_class LIMIT 1")[0]
            #expect(catalog.columnTypes == [.oidType, .name, .char])
        }
    }

    @Test func usersAreCreatedAlteredAndDroppedWithVerifiersOnly() async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            let tags = try await session.execute("CREATE USER alice WITH PASSWORD 'pencil'; CREATE USER bob PASSWORD 'b'").map(\.tag)
            #expect(tags == ["CREATE ROLE", "CREATE ROLE"])
            await #expect(throws: SQLError.self) { try await session.execute("CREATE USER alice PASSWORD 'again'") }
            let roles = try await session.execute("SELECT rolname, rolpassword, rolsuper FROM pg_catalog.pg_roles ORDER BY 1")[0].rows
            #expect(roles == [[.text("alice"), .text("********"), .integer(0)], [.text("bob"), .text("********"), .integer(0)],
                              [.text("meshdb"), .text("********"), .integer(1)]])

            // Another node's replica holds the same verifier, which checks out against the password.
            let verifier = try await demo.nodes[0].gateway.userVerifier(name: "alice")
            let elsewhere = try await demo.nodes[2].gateway.userVerifier(name: "alice")
            #expect(verifier != nil && verifier == elsewhere)
            if let verifier {
                #expect(ScramVerifier(password: "pencil", salt: verifier.salt, iterations: verifier.iterations) == verifier)
            }
            _ = try await session.execute("ALTER USER alice WITH PASSWORD 'new'")
            let changed = try await demo.nodes[0].gateway.userVerifier(name: "alice")
            if let changed {
                #expect(ScramVerifier(password: "new", salt: changed.salt, iterations: changed.iterations) == changed)
            }
            #expect(try await session.execute("DROP USER bob; DROP USER IF EXISTS bob").map(\.tag) == ["DROP ROLE", "DROP ROLE"])
            #expect(try await demo.nodes[0].gateway.userVerifier(name: "bob") == nil)
            await #expect(throws: SQLError.self) { try await session.execute("DROP USER bob") }
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }
}
