import Consensus
import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// What `pgbench -i` needs of the SQL layer beyond CRUD: DROP of several tables, TRUNCATE,
/// VACUUM / ANALYZE, ALTER TABLE ADD PRIMARY KEY on a table with rows (which re-shards it), and
/// multi-row INSERTs sent as few shard statements.
@Suite(.heavy, .serialized) struct SQLBulkAndMaintenanceTests {
    static func state(_ error: any Error) -> String? { (error as? SQLError)?.state.code }

    static func integer(_ session: SQLSession, _ sql: String) async throws -> Int64? {
        guard case .integer(let value) = try await session.execute(sql).last?.rows.first?.first else { return nil }
        return value
    }

    @Test func addPrimaryKeyMovesEveryRowToTheShardItsKeyRoutesTo() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.gateway)
            _ = try await session.execute("CREATE TABLE acc (aid INT NOT NULL, bid INT, abalance INT, filler CHAR(84)) WITH (fillfactor=100) SHARDS 4")
            let values = (1...300).map { "(\($0), \($0 % 3), \($0 * 2), '')" }.joined(separator: ", ")
            _ = try await session.execute("INSERT INTO acc VALUES \(values)")
            #expect(try await demo.gateway.table(named: "acc")?.spec.hasHiddenRowID == true)

            let altered = try await session.execute("ALTER TABLE acc ADD PRIMARY KEY (aid)")
            #expect(altered.map(\.tag) == ["ALTER TABLE"])
            let table = try #require(try await demo.gateway.table(named: "acc"))
            #expect(table.spec.primaryKey == ["aid"] && table.spec.shardKey == ["aid"])
            #expect(table.spec.shardDDL.first?.contains("PRIMARY KEY (aid)") == true)
            // Every row is where the new key routes it, and nothing was lost or doubled.
            var seen = 0
            for shard in 0..<UInt32(4) {
                let rows = try await demo.gateway.read(table, shard: shard, sql: "SELECT aid FROM acc", consistency: .verified).rows
                for row in rows { #expect(ShardRouting.shard(forKey: row, shardCount: 4) == shard) }
                seen += rows.count
            }
            #expect(seen == 300)
            #expect(try await Self.integer(session, "SELECT sum(abalance) FROM acc") == 2 * (1...300).reduce(0, +))
            let plan = try await session.execute("EXPLAIN SELECT abalance FROM acc WHERE aid = 7")[0].rows.map { "\($0)" }.joined()
            #expect(plan.contains("1 of 4 shards"))
            #expect(try await session.execute("SELECT abalance FROM acc WHERE aid = 7")[0].rows == [[.integer(14)]])
            // The key holds from now on, and new rows are routed by it.
            await #expect { try await session.execute("INSERT INTO acc VALUES (7, 0, 0, '')") } throws: { Self.state($0) == "23505" }
            _ = try await session.execute("INSERT INTO acc VALUES (301, 0, 1, '')")
            #expect(try await session.execute("SELECT abalance FROM acc WHERE aid = 301")[0].rows == [[.integer(1)]])
            await #expect { try await session.execute("ALTER TABLE acc ADD PRIMARY KEY (bid)") } throws: { Self.state($0) == "42P16" }
        }
    }

    @Test func addPrimaryKeyOverDuplicatesOrNullsChangesNothing() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.gateway)
            _ = try await session.execute("CREATE TABLE dup (k INT, v TEXT) SHARDS 4")
            _ = try await session.execute("INSERT INTO dup VALUES (1, 'a'), (2, 'b'), (1, 'c')")
            await #expect { try await session.execute("ALTER TABLE dup ADD PRIMARY KEY (k)") } throws: { error in
                Self.state(error) == "23505" && (error as? SQLError)?.message.contains("(k)=(1)") == true
            }
            _ = try await session.execute("DELETE FROM dup WHERE v = 'c'")
            _ = try await session.execute("INSERT INTO dup VALUES (NULL, 'n')")
            await #expect { try await session.execute("ALTER TABLE dup ADD PRIMARY KEY (k)") } throws: { Self.state($0) == "23502" }
            await #expect { try await session.execute("ALTER TABLE dup ADD PRIMARY KEY (missing)") } throws: { Self.state($0) == "42703" }
            // The table is as it was: no key, every row, and it takes writes (no lock left behind).
            #expect(try await demo.gateway.table(named: "dup")?.spec.primaryKey == [])
            #expect(try await Self.integer(session, "SELECT count(*) FROM dup") == 3)
            _ = try await session.execute("INSERT INTO dup VALUES (3, 'd')")
            #expect(try await SQLTransactionTests.openBlocks(demo) == [0, 0, 0, 0])
        }
    }

    @Test func truncateEmptiesTablesTogetherAndRollsBackInABlock() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.gateway)
            _ = try await session.execute("CREATE TABLE a (id INT PRIMARY KEY, n INT) SHARDS 2; CREATE TABLE b (x INT) SHARDS 2")
            _ = try await session.execute("INSERT INTO a VALUES (1, 1), (2, 2), (3, 3); INSERT INTO b VALUES (1), (2)")
            _ = try await session.execute("BEGIN")
            #expect(try await session.execute("TRUNCATE a, b").map(\.tag) == ["TRUNCATE TABLE"])
            #expect(try await Self.integer(session, "SELECT count(*) FROM a") == 0)
            _ = try await session.execute("ROLLBACK")
            #expect(try await Self.integer(session, "SELECT count(*) FROM a") == 3)
            #expect(try await Self.integer(session, "SELECT count(*) FROM b") == 2)
            _ = try await session.execute("TRUNCATE TABLE a, b")
            #expect(try await Self.integer(session, "SELECT count(*) FROM a") == 0)
            #expect(try await Self.integer(session, "SELECT count(*) FROM b") == 0)
            await #expect { try await session.execute("TRUNCATE a, missing") } throws: { Self.state($0) == "42P01" }
        }
    }

    @Test func dropOfSeveralTablesAndVacuum() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.gateway)
            _ = try await session.execute("CREATE TABLE a (x INT) SHARDS 1; CREATE TABLE b (x INT) SHARDS 1")
            #expect(try await session.execute("VACUUM ANALYZE a").map(\.tag) == ["VACUUM"])
            #expect(try await session.execute("ANALYZE").map(\.tag) == ["ANALYZE"])
            await #expect { try await session.execute("VACUUM missing") } throws: { Self.state($0) == "42P01" }
            _ = try await session.execute("BEGIN")
            await #expect { try await session.execute("VACUUM a") } throws: { Self.state($0) == "25001" }
            _ = try await session.execute("ROLLBACK")
            // Without IF EXISTS nothing is dropped when one name is missing.
            await #expect { try await session.execute("DROP TABLE a, missing, b") } throws: { Self.state($0) == "42P01" }
            #expect(try await demo.gateway.table(named: "a") != nil)
            _ = try await session.execute("DROP TABLE IF EXISTS a, missing, b")
            #expect(try await demo.gateway.table(named: "a") == nil)
            #expect(try await demo.gateway.table(named: "b") == nil)
        }
    }

    @Test func textParametersPruneIntegerKeys() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let session = SQLSession(gateway: demo.gateway)
            _ = try await session.execute("CREATE TABLE k (id INT PRIMARY KEY, n INT) SHARDS 4")
            _ = try await session.execute("INSERT INTO k VALUES ($1, $2)", parameters: [.text("5"), .text("50")])
            let select = try await session.execute("EXPLAIN SELECT n FROM k WHERE id = $1", parameters: [.text("5")])
            #expect(select[0].rows.map { "\($0)" }.joined().contains("1 of 4 shards"))
            let update = try await session.execute("EXPLAIN UPDATE k SET n = n + $2 WHERE id = $1", parameters: [.text("5"), .text("1")])
            #expect(update[0].rows.map { "\($0)" }.joined().contains("1 of 4 shards"))
            _ = try await session.execute("UPDATE k SET n = n + $2 WHERE id = $1", parameters: [.text("5"), .text("1")])
            #expect(try await session.execute("SELECT n FROM k WHERE id = $1", parameters: [.text("5")])[0].rows == [[.integer(51)]])
        }
    }

    @Test func multiRowInsertsKeepWithinEveryLimit() throws {
        var limits = ShardOperation.Limits()
        limits.operationBytesMax = 4 * 1024
        let rows: [[SQLiteValue]] = (0..<1_000).map { [.integer(Int64($0)), .text(String(repeating: "x", count: $0 % 50))] }
        let statements = MultiRowInsert.statements(into: "t", columns: ["a", "b"], rows: rows, limits: limits)
        #expect(statements.count > 1)
        #expect(statements.flatMap(\.parameters) == rows.flatMap { $0 })
        for statement in statements {
            #expect(statement.sql.hasPrefix(#"INSERT INTO "t" ("a", "b") VALUES (?, ?), (?, ?)"#))
            #expect(ShardOperation.write(try ShardID(table: "t", shard: 0), statements: [statement]).encoded().count
                    <= limits.operationBytesMax - MultiRowInsert.operationHeadroomBytes + 64)
        }
        // Parameters: at most parametersPerStatementMax per statement.
        limits = ShardOperation.Limits()
        limits.parametersPerStatementMax = 10
        let small = MultiRowInsert.statements(into: "t", columns: ["a", "b"], rows: Array(rows.prefix(12)), limits: limits)
        #expect(small.map(\.parameters.count) == [10, 10, 4])
    }
}
