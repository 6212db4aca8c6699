import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// A column's declared type is enforced as PostgreSQL enforces it (`ColumnTypeChecks`).
/// Regression: SQLite's affinity stored 'abc' in an int column and 'x' in a float8, and an int8
/// overflow as a real; the wire then described the column as int4, float8 or int8, and a binary
/// driver read garbage.
@Suite(.heavy, .serialized) struct ColumnTypeCheckTests {
    static func failure(_ session: SQLSession, _ sql: String) async -> (state: String, message: String)? {
        do throws(SQLError) {
            _ = try await session.execute(sql)
            return nil
        } catch {
            return (error.state.code, error.message)
        }
    }

    @Test func insertsAndUpdatesOutsideTheDeclaredTypeFailWithPostgresCodes() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("""
                CREATE TABLE typed (id int PRIMARY KEY, s smallint, i integer, b bigint, f float8, r real, n numeric,
                                    v varchar(4), c char(2), t text, ts timestamp, p int CHECK (p > 0))
                """)
            let integer = "invalid input syntax for type integer: the value is text, bytes, a fraction or beyond 64 bits"
            let cases: [(sql: String, state: String, message: String)] = [
                ("INSERT INTO typed (id, i) VALUES (1, 'abc')", "22P02", integer),
                ("INSERT INTO typed (id, i) VALUES (1, 1e19)", "22P02", integer),
                ("INSERT INTO typed (id, s) VALUES (1, -1e19)", "22P02", integer.replacingOccurrences(of: "integer", with: "smallint")),
                ("INSERT INTO typed (id, b) VALUES (1, 9223372036854775807 + 1)", "22P02", integer.replacingOccurrences(of: "integer", with: "bigint")),
                ("INSERT INTO typed (id, b) VALUES (1, X'01')", "22P02", integer.replacingOccurrences(of: "integer", with: "bigint")),
                ("INSERT INTO typed (id, i) VALUES (1, 1.5)", "22P02", integer),
                ("INSERT INTO typed (id, f) VALUES (1, 'abc')", "22P02", "invalid input syntax for type double precision: the value is text or bytes, not a number"),
                ("INSERT INTO typed (id, r) VALUES (1, 'x')", "22P02", "invalid input syntax for type real: the value is text or bytes, not a number"),
                ("INSERT INTO typed (id, n) VALUES (1, '1.2.3')", "22P02", "invalid input syntax for type numeric: the value is text or bytes, not a number"),
                // Several rows: one bad row refuses the statement, before any shard writes.
                ("INSERT INTO typed (id, i) VALUES (1, 1), (2, 2), (3, 'x')", "22P02", integer),
                // The column's own CHECK keeps its name (SQLite would give an unnamed CHECK after
                // the type's the type's name); text passes `p > 0` (text sorts after numbers) and
                // meets the type's check.
                ("INSERT INTO typed (id, p) VALUES (1, 'abc')", "22P02", integer),
                ("INSERT INTO typed (id, p) VALUES (1, -1)", "23514", "CHECK constraint failed: p > 0"),
            ]
            for (sql, state, message) in cases {
                let failed = await Self.failure(session, sql)
                #expect(failed?.state == state && failed?.message == message, "\(sql): \(String(describing: failed))")
            }
            #expect(try await session.execute("SELECT count(*) FROM typed")[0].rows == [[.integer(0)]], "nothing was stored")

            // What PostgreSQL accepts is stored as the type's value.
            _ = try await session.execute("""
                INSERT INTO typed VALUES (1, -32768, '2147483647', 9223372036854775807, 2, '1.5', '12.25', 'abcd', 'ab',
                                          'any text at all', '2026-11-22 12:00:00', 1)
                """)
            _ = try await session.execute("INSERT INTO typed (id, i, v) VALUES (2, 4.0, 'éééé'), (3, NULL, NULL)")
            let rows = try await session.execute("SELECT id, s, i, b, typeof(f), r, n, v, c FROM typed ORDER BY id")[0].rows
            #expect(rows[0] == [.integer(1), .integer(-32768), .integer(2_147_483_647), .integer(.max), .text("real"), .real(1.5),
                                .real(12.25), .text("abcd"), .text("ab")])
            #expect(rows[1][2] == .integer(4) && rows[1][7] == .text("éééé"), "4.0 is the integer 4; four characters fit varchar(4)")
            #expect(rows[2][2] == .null)

            // UPDATE runs on the shards: the same checks refuse there, every replica alike.
            for (sql, state) in [("UPDATE typed SET i = 'z' WHERE id = 2", "22P02"), ("UPDATE typed SET f = X'00' WHERE id = 1", "22P02"),
                                 ("UPDATE typed SET i = i / 2.0 WHERE id = 1", "22P02"), ("UPDATE typed SET b = b + 1 WHERE id = 1", "22P02")] {
                let failed = await Self.failure(session, sql)
                #expect(failed?.state == state, "\(sql): \(String(describing: failed))")
            }
            #expect(try await session.execute("SELECT i, v, b FROM typed WHERE id = 1")[0].rows
                    == [[.integer(2_147_483_647), .text("abcd"), .integer(.max)]], "the failed updates changed nothing")
            _ = try await session.execute("UPDATE typed SET i = i - 1, b = b - 1 WHERE id = 1")

            // A column added later is checked too.
            _ = try await session.execute("ALTER TABLE typed ADD COLUMN extra int2")
            #expect(await Self.failure(session, "UPDATE typed SET extra = 'seven' WHERE id = 1")?.state == "22P02")
            _ = try await session.execute("UPDATE typed SET extra = 7 WHERE id = 1")
            #expect(await Self.failure(session, "INSERT INTO typed (id, extra) VALUES (9, 'nine')")?.state == "22P02")
            _ = try await session.execute("INSERT INTO typed (id, extra) VALUES (9, 9)")
            #expect(try await session.execute("SELECT extra FROM typed WHERE id IN (1, 9) ORDER BY id")[0].rows == [[.integer(7)], [.integer(9)]])

            // The widest table, columns_max = 256 integer columns with 40-character names: with
            // the checks its catalog command still fits command_bytes_max = 64 KiB.
            let wide = (0..<256).map { "a_forty_character_column_name_number_\(1000 + $0) int" }.joined(separator: ", ")
            _ = try await session.execute("CREATE TABLE wide (\(wide))")
            #expect(await Self.failure(session, "INSERT INTO wide (a_forty_character_column_name_number_1255) VALUES ('x')")?.state == "22P02")

            // And after ADD PRIMARY KEY rebuilds a table's shards.
            _ = try await session.execute("CREATE TABLE loose (k int NOT NULL, q smallint)")
            _ = try await session.execute("INSERT INTO loose VALUES (1, 1)")
            _ = try await session.execute("ALTER TABLE loose ADD PRIMARY KEY (k)")
            #expect(await Self.failure(session, "INSERT INTO loose VALUES (2, 'q')")?.state == "22P02")
            // A user's CHECK on an added column (SQLite checks existing rows through a PRAGMA the
            // shard's authorizer refused, which stopped every replica) works too.
            _ = try await session.execute("ALTER TABLE loose ADD COLUMN positive int CHECK (positive > 0)")
            #expect(await Self.failure(session, "UPDATE loose SET positive = -1")?.state == "23514")
            _ = try await session.execute("UPDATE loose SET positive = 1")
        }
    }

    @Test func theNameOfAFailedCheckCarriesItsCodeAndMessage() {
        #expect(ColumnTypeChecks.failure(inSQLiteMessage: "CHECK constraint failed: meshdb double precision")?.message
                == "invalid input syntax for type double precision: the value is text or bytes, not a number")
        #expect(ColumnTypeChecks.failure(inSQLiteMessage: "CHECK constraint failed: v > 0") == nil)
        #expect(ColumnTypeChecks.failure(inSQLiteMessage: "CHECK constraint failed: meshdb x") == nil)
        #expect(GatewayError.sqlState(forSQLiteCode: 275, message: "CHECK constraint failed: meshdb bigint") == "22P02")
        #expect(GatewayError.sqlState(forSQLiteCode: 275, message: "CHECK constraint failed: positive") == "23514")
    }
}
