import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// The session resets connection pools and drivers send, RESET ALL, and the functions they call.
@Suite(.heavy, .serialized) struct SQLSessionCommandTests {
    static func state(_ error: any Error) -> String? { (error as? SQLError)?.state.code }

    /// A NULL primary key is refused (23502) rather than stored as a fresh rowid, and NOT NULL and
    /// CHECK violations of an INSERT carry their own SQLSTATEs (they were XX000 with SQLite's text).
    @Test func insertConstraintViolationsKeepPostgresCodes() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE k3 (id int PRIMARY KEY, n text NOT NULL, v int CHECK (v > 0))")
            _ = try await session.execute("CREATE TABLE k4 (a text, b int, c int, PRIMARY KEY (a, b))")
            for (sql, state) in [("INSERT INTO k3 VALUES (NULL, 'x', 1)", "23502"), ("INSERT INTO k3 (id, n) VALUES (1, NULL)", "23502"),
                                 ("INSERT INTO k3 VALUES (2, 'x', -1)", "23514"), ("INSERT INTO k4 VALUES ('a', NULL, 1)", "23502"),
                                 ("INSERT INTO k3 VALUES (3, 'x', 1), (NULL, 'y', 2)", "23502")] {
                await #expect { try await session.execute(sql) } throws: { Self.state($0) == state }
            }
            await #expect { try await session.execute("INSERT INTO k3 (id, n) VALUES (1, NULL)") } throws: {
                ($0 as? SQLError)?.message == "null value in column \"n\" of relation \"k3\" violates not-null constraint"
            }
            // An int key the shards' rowid could not hold is refused before any shard writes.
            for sql in ["INSERT INTO k3 VALUES (5, 'x', 1), ('abc', 'y', 1)", "INSERT INTO k3 VALUES (6, 'x', 1), (1.5, 'y', 1)"] {
                await #expect { try await session.execute(sql) } throws: { Self.state($0) == "22P02" }
            }
            #expect(try await session.execute("SELECT count(*) FROM k3")[0].rows == [[.integer(0)]])
            _ = try await session.execute("INSERT INTO k3 VALUES (1, 'one', 5); INSERT INTO k4 VALUES ('a', 1, 2)")
            #expect(try await session.execute("SELECT id, n FROM k3")[0].rows == [[.integer(1), .text("one")]])
            #expect(try await session.execute("SELECT a, b FROM k4")[0].rows == [[.text("a"), .integer(1)]])
            // An ORM's row lock in a block: accepted, the block's read holds the shard anyway.
            let locked = try await session.execute("BEGIN; SELECT n FROM k3 WHERE id = 1 FOR UPDATE; UPDATE k3 SET n = 'two' WHERE id = 1; COMMIT")
            #expect(locked[1].rows == [[.text("one")]])
            #expect(try await session.execute("SELECT n FROM k3 WHERE id = 1 FOR NO KEY UPDATE NOWAIT")[0].rows == [[.text("two")]])
        }
    }

    /// A read whose shard SQL is over sql_bytes_max fails with 54000 naming the limit, in every
    /// consistency (a verified read got 08P01 "a verified read carries one read operation").
    @Test func aShardReadOverTheSQLLimitNamesIt() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
            let list = (0..<10_000).map { "'\($0)'" }.joined(separator: ",")
            for consistency in ["verified", "local", "linearizable"] {
                _ = try await session.execute("SET mesh.read_consistency = \(consistency)")
                await #expect { try await session.execute("SELECT count(*) FROM items WHERE name IN (\(list))") } throws: {
                    Self.state($0) == "54000" && (($0 as? SQLError)?.message.contains("sql_bytes_max = 65536") ?? false)
                }
            }
            #expect(try await session.execute("SELECT count(*) FROM items WHERE name IN ('1', '2')")[0].rows == [[.integer(0)]])
        }
    }

    @Test func poolResetsLeaveTheSessionAsItStarted() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = try SQLSession(gateway: demo.nodes[0].gateway, backendPID: 3, user: "meshdb",
                                         startupSettings: [("application_name", "pool"), ("mesh.read_consistency", "local")])
            // asyncpg's reset of a released pool connection, as one simple query.
            let reset = try await session.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;")
            #expect(reset.map(\.tag) == ["SELECT 1", "CLOSE CURSOR ALL", "UNLISTEN", "RESET"])
            #expect(reset[0].rows == [[.null]])

            _ = try await session.execute("SET application_name = 'changed'; SET mesh.read_consistency = linearizable")
            _ = try await session.execute("RESET ALL")
            #expect(try await session.execute("SHOW application_name")[0].rows == [[.text("pool")]])
            #expect(try await session.execute("SHOW mesh.read_consistency")[0].rows == [[.text("local")]])

            _ = try await session.execute("SET application_name = 'changed'; CREATE TEMP VIEW tv AS SELECT 1 AS one")
            #expect(try await session.execute("DISCARD ALL")[0].tag == "DISCARD ALL")
            #expect(try await session.execute("SHOW application_name")[0].rows == [[.text("pool")]])
            await #expect(throws: SQLError.self) { try await session.execute("SELECT * FROM tv") }

            // Nothing of these exists in MeshDB: naming one is an error, as in PostgreSQL.
            await #expect { try await session.execute("DEALLOCATE p1") } throws: { Self.state($0) == "26000" }
            await #expect { try await session.execute("CLOSE c1") } throws: { Self.state($0) == "34000" }
            #expect(try await session.execute("DEALLOCATE ALL; DISCARD PLANS; DISCARD TEMP").map(\.tag)
                == ["DEALLOCATE ALL", "DISCARD PLANS", "DISCARD TEMP"])

            // DISCARD ALL is refused inside a block, which goes on failed (25P02 until ROLLBACK).
            _ = try await session.execute("BEGIN")
            await #expect { try await session.execute("DISCARD ALL") } throws: { Self.state($0) == "25001" }
            await #expect { try await session.execute("SELECT 1") } throws: { Self.state($0) == "25P02" }
            _ = try await session.execute("ROLLBACK")

            // RESET ALL reports what it changed, for ParameterStatus.
            _ = try await session.execute("SET application_name = 'changed'")
            let resetAll = try await session.execute("RESET ALL")[0]
            #expect(resetAll.changedSettings.contains(.init(name: "application_name", value: "pool")))

            // The reported parameters keep to what MeshDB does: UTF8, ISO dates, UTC.
            _ = try await session.execute("SET client_encoding = 'utf-8'; SET DateStyle = 'iso, dmy'; SET TimeZone = 'Europe/Berlin'")
            #expect(try await session.execute("SHOW client_encoding; SHOW datestyle; SHOW timezone").map(\.rows)
                == [[[.text("UTF8")]], [[.text("ISO, DMY")]], [[.text("UTC")]]])
            for refused in ["SET client_encoding = 'LATIN1'", "SET DateStyle = 'SQL, DMY'", "SET IntervalStyle = 'iso_8601'"] {
                await #expect { try await session.execute(refused) } throws: { Self.state($0) == "22023" }
            }

            _ = try await session.execute("SET statement_timeout = '2s'")
            #expect(session.statementTimeout == .seconds(2))
            #expect(try await session.execute("SHOW statement_timeout")[0].rows == [[.text("2000ms")]])
            await #expect { try await session.execute("SET statement_timeout = 'soon'") } throws: { Self.state($0) == "22023" }
            _ = try await session.execute("SET statement_timeout = 0")
            #expect(session.statementTimeout == nil)

            let now = try await session.execute("SELECT now() = current_timestamp, localtimestamp IS NOT NULL")
            #expect(now[0].rows == [[.integer(1), .integer(1)]])
        }
    }
}
