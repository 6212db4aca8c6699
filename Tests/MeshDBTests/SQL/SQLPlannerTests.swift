import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// The SQL layer over four in-process nodes: each strategy chosen where it should be, EXPLAIN
/// showing it, and results equal to what one SQLite database gives.
@Suite(.heavy, .serialized) struct SQLPlannerTests {
    static func withSession(_ body: (SQLSession) async throws -> Void) async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            try await body(session)
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }

    static func explain(_ session: SQLSession, _ sql: String) async throws -> [String] {
        try await session.execute("EXPLAIN " + sql)[0].rows.map { row in
            guard case .text(let line) = row[0] else { return "" }
            return line
        }
    }

    static func setUp(_ session: SQLSession) async throws {
        _ = try await session.execute("""
            CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance REAL DEFAULT 0, region TEXT) SHARDS 8;
            INSERT INTO accounts (id, owner, balance, region) VALUES
              (1, 'ann', 10.5, 'eu'), (2, 'bob', -3, 'us'), (3, 'cy', NULL, 'eu'), (4, 'dee', 7, NULL),
              (5, 'eve', 100, 'us'), (6, 'fay', 0.25, 'eu'), (7, 'gus', 12, 'ap'), (8, 'hal', 12, 'ap')
            """)
    }

    @Test func pointLookupTouchesOneShard() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let lines = try await Self.explain(session, "SELECT owner FROM accounts WHERE id = 5")
            #expect(lines[0] == "Strategy: point lookup")
            #expect(lines[1].contains("1 of 8 shards"))
            let rows = try await session.execute("SELECT owner FROM accounts WHERE id = 5")[0].rows
            #expect(rows == [[.text("eve")]])
        }
    }

    @Test func prunedRangeReadsOnlyItsShards() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let plan = try await session.plan("SELECT owner FROM accounts WHERE id BETWEEN 2 AND 3 ORDER BY owner")
            #expect(plan.strategy == .prunedScan || plan.strategy == .pointLookup)
            let expectedShards = Set([2, 3].map { Int(ShardRouting.shard(forKey: [.integer($0)], shardCount: 8)) }).sorted()
            #expect(plan.steps[0].shards == expectedShards)
            let rows = try await session.execute("SELECT owner FROM accounts WHERE id BETWEEN 2 AND 3 ORDER BY owner")[0].rows
            #expect(rows == [[.text("bob")], [.text("cy")]])
            let inList = try await session.plan("SELECT * FROM accounts WHERE id IN (1, 7)")
            #expect(inList.steps[0].shards.count <= 2)
        }
    }

    @Test func aggregateShowsPartialAggregatesPushedDown() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let sql = "SELECT region, count(*), sum(balance), avg(balance), min(owner), max(balance) FROM accounts GROUP BY region ORDER BY region"
            let lines = try await Self.explain(session, sql)
            #expect(lines[0] == "Strategy: scatter-gather")
            #expect(lines.contains { $0.contains("partial aggregates pushed to every shard") })
            #expect(lines.contains { $0.contains("Combine partial aggregates at gateway") })
            let rows = try await session.execute(sql)[0].rows
            #expect(rows == [
                [.null, .integer(1), .real(7), .real(7), .text("dee"), .real(7)],
                [.text("ap"), .integer(2), .real(24), .real(12), .text("gus"), .real(12)],
                [.text("eu"), .integer(3), .real(10.75), .real(5.375), .text("ann"), .real(10.5)],
                [.text("us"), .integer(2), .real(97), .real(48.5), .text("bob"), .real(100)],
            ])
        }
    }

    /// Regression (differential seed 1, query 823): with GROUP BY c, `sum(c)` was combined at the
    /// gateway as `sum(g1)` (the group column was substituted inside the aggregate first), so
    /// equal rows on different shards counted once.
    @Test func aggregateOverAGroupedColumnCombinesThePartials() async throws {
        try await Self.withSession { session in
            _ = try await session.execute("""
                CREATE TABLE same (c INTEGER, d INTEGER) SHARDS 8;
                INSERT INTO same (c, d) VALUES (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9),
                  (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9), (98, 9)
                """)
            let sql = "SELECT c, d, sum(c), count(c), min(c), avg(d) FROM same GROUP BY c, d"
            let lines = try await Self.explain(session, sql)
            #expect(lines.contains { $0.contains("Gateway SQL") && !$0.contains("sum(g1)") })
            #expect(try await session.execute(sql)[0].rows == [
                [.integer(98), .integer(9), .integer(1568), .integer(16), .integer(98), .real(9)],
            ])
        }
    }

    /// Regression (differential seed 2): a shard-key range no shard can match (`BETWEEN 5 AND 2`)
    /// pruned to no shards and returned a result without columns.
    @Test func emptyShardKeyRangeStillReturnsColumnsAndAggregates() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let empty = try await session.execute("SELECT id, owner FROM accounts WHERE id BETWEEN 5 AND 2")[0]
            #expect(empty.columns.count == 2 && empty.rows.isEmpty)
            #expect(try await session.execute("SELECT count(*), sum(balance) FROM accounts WHERE id IN (SELECT 1 WHERE 0) OR id BETWEEN 9 AND 1")[0].rows
                == [[.integer(0), .null]])
            #expect(try await session.execute("SELECT count(*) FROM accounts WHERE id BETWEEN 5 AND 2")[0].rows == [[.integer(0)]])
        }
    }

    /// CREATE TEMP VIEW lives in its session only: another session on the same gateway does not
    /// see it, it cannot take a catalog name, and DROP VIEW removes it.
    @Test func temporaryViewsBelongToTheirSession() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            _ = try await session.execute("CREATE TEMP VIEW rich AS SELECT owner FROM accounts WHERE balance > 10")
            #expect(try await session.execute("SELECT owner FROM rich ORDER BY owner")[0].rows
                == [[.text("ann")], [.text("eve")], [.text("gus")], [.text("hal")]])
            let other = SQLSession(gateway: session.gateway)
            await #expect(throws: SQLError.self) { try await other.execute("SELECT * FROM rich") }
            do {
                _ = try await session.execute("CREATE TEMPORARY VIEW accounts AS SELECT 1")
                Issue.record("a temporary view took a table's name")
            } catch let error as SQLError {
                #expect(error.state.code == "42P07")
            }
            _ = try await session.execute("CREATE TEMP VIEW IF NOT EXISTS rich AS SELECT 1")
            await #expect(throws: SQLError.self) { try await session.execute("INSERT INTO rich VALUES ('x')") }
            _ = try await session.execute("DROP VIEW rich")
            await #expect(throws: SQLError.self) { try await session.execute("SELECT * FROM rich") }
        }
    }

    /// REINDEX runs on every shard of the table (for an index, of its table); unknown names are
    /// 42704 / 42P01 at their position. A sum() that overflows is 22003, as in PostgreSQL.
    @Test func reindexAndRuntimeErrorsCarryTheirSQLState() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            _ = try await session.execute("CREATE INDEX accounts_owner ON accounts (owner)")
            #expect(try await session.execute("REINDEX accounts_owner")[0].tag == "REINDEX")
            #expect(try await session.execute("REINDEX TABLE accounts")[0].tag == "REINDEX")
            #expect(try await session.execute("SELECT owner FROM accounts WHERE owner = 'eve'")[0].rows == [[.text("eve")]])
            for (sql, state, position) in [("REINDEX INDEX nothing", "42704", 15), ("REINDEX TABLE nothing", "42P01", 15)] {
                do {
                    _ = try await session.execute(sql)
                    Issue.record("\(sql) succeeded")
                } catch let error as SQLError {
                    #expect(error.state.code == state && error.position == position)
                }
            }
            _ = try await session.execute("CREATE TABLE ints (id INTEGER PRIMARY KEY, v INTEGER) SHARDS 1; INSERT INTO ints VALUES (1, 9223372036854775807), (2, 1)")
            do {
                _ = try await session.execute("SELECT sum(v) FROM ints")
                Issue.record("an overflowing sum() succeeded")
            } catch let error as SQLError {
                #expect(error.state.code == "22003")
            }
        }
    }

    @Test func topNMergesSortedShardStreams() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let plan = try await session.plan("SELECT owner, balance FROM accounts ORDER BY balance DESC, owner LIMIT 3")
            guard case .mergeSorted(_, _, let limit, let columns) = plan.finish else {
                Issue.record("expected a merge of sorted streams, got \(plan.finish)")
                return
            }
            #expect(limit == 3 && columns == 2)
            let rows = try await session.execute("SELECT owner, balance FROM accounts ORDER BY balance DESC, owner LIMIT 3")[0].rows
            #expect(rows == [[.text("eve"), .real(100)], [.text("gus"), .real(12)], [.text("hal"), .real(12)]])
        }
    }

    @Test func joinsAndSubqueriesGatherAndAnswerCorrectly() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            _ = try await session.execute("""
                CREATE TABLE orders (id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER);
                INSERT INTO orders VALUES (1, 1, 5), (2, 1, 7), (3, 2, 1), (4, 9, 4)
                """)
            let sql = "SELECT a.owner, sum(o.amount) FROM accounts a JOIN orders o ON o.account = a.id GROUP BY a.owner ORDER BY 1"
            #expect(try await session.plan(sql).strategy == .gather)
            #expect(try await session.execute(sql)[0].rows == [[.text("ann"), .integer(12)], [.text("bob"), .integer(1)]])
            let sub = "SELECT owner FROM accounts WHERE id IN (SELECT account FROM orders WHERE amount > 4) ORDER BY owner"
            #expect(try await session.execute(sub)[0].rows == [[.text("ann")]])
            let left = "SELECT count(*) FROM accounts LEFT JOIN orders ON orders.account = accounts.id WHERE orders.id IS NULL"
            #expect(try await session.execute(left)[0].rows == [[.integer(6)]])
        }
    }

    @Test func writesUpdateAndDeleteAcrossShards() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            let update = try await session.execute("UPDATE accounts SET balance = balance + 1 WHERE region = 'eu'")[0]
            #expect(update.tag == "UPDATE 3")
            let delete = try await session.execute("DELETE FROM accounts WHERE id = 2 RETURNING owner")[0]
            #expect(delete.tag == "DELETE 1" && delete.rows == [[.text("bob")]])
            let total = try await session.execute("SELECT count(*), total(balance) FROM accounts")[0].rows
            #expect(total == [[.integer(7), .real(10.5 + 1 + 7 + 100 + 1.25 + 12 + 12)]])
            await #expect(throws: SQLError.self) { try await session.execute("UPDATE accounts SET id = 9 WHERE id = 1") }
        }
    }

    @Test func errorsCarrySQLStateAndPosition() async throws {
        try await Self.withSession { session in
            try await Self.setUp(session)
            do {
                _ = try await session.execute("SELECT nope FROM accounts")
                Issue.record("an unknown column must fail")
            } catch let error as SQLError {
                #expect(error.state == .undefinedColumn && error.position == 8)
            }
            do {
                _ = try await session.execute("SELECT * FROM missing")
                Issue.record("an unknown table must fail")
            } catch let error as SQLError {
                #expect(error.state == .undefinedTable && error.position == 15)
            }
            do {
                _ = try await session.execute("INSERT INTO accounts (id, owner) VALUES (1, 'again')")
                Issue.record("a duplicate key must fail")
            } catch let error as SQLError {
                #expect(error.state == .uniqueViolation)
            }
        }
    }
}
