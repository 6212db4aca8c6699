import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// INSERTs evaluate their rows in scratch copies of the table that the gateway keeps between
/// statements (`ScratchTablePool`): a copy comes back empty, a changed table gets new copies, and
/// a failed INSERT leaves nothing behind for the next one.
@Suite(.heavy, .serialized) struct ScratchTablePoolTests {
    @Test func aCopyComesBackEmptyAndIsHandedOutAgain() throws {
        let pool = ScratchTablePool()
        let ddl = ["CREATE TABLE t (id INTEGER, v TEXT DEFAULT 'd')"]
        let first = try pool.take(table: "t", ddl: ddl)
        _ = try first.database.evaluate("INSERT INTO t (id) VALUES (1), (2)")
        pool.giveBack(first)
        #expect(pool.idleCount(table: "t") == 1)
        let again = try pool.take(table: "t", ddl: ddl)
        #expect(again === first)
        #expect(try again.database.evaluate("SELECT count(*) FROM t").rows == [[.integer(0)]])
        // Another definition of the same table is another copy.
        let altered = try pool.take(table: "t", ddl: ddl + ["ALTER TABLE t ADD COLUMN x INTEGER DEFAULT 7"])
        #expect(altered !== first)
        _ = try altered.database.evaluate("INSERT INTO t (id) VALUES (1)")
        #expect(try altered.database.evaluate("SELECT * FROM t").rows == [[.integer(1), .text("d"), .integer(7)]])
        pool.giveBack(again)
        pool.giveBack(altered)
        #expect(pool.idleCount(table: "t") == 2)
        // At most idlePerTableMax idle copies of one definition are kept.
        let many = try (0..<(ScratchTablePool.idlePerTableMax + 3)).map { _ in try pool.take(table: "u", ddl: ["CREATE TABLE u (a INTEGER)"]) }
        #expect(Set(many.map(ObjectIdentifier.init)).count == many.count)
        for copy in many { pool.giveBack(copy) }
        #expect(pool.idleCount(table: "u") == ScratchTablePool.idlePerTableMax)
    }

    @Test func insertsThroughReusedCopiesStoreExactlyTheirRows() async throws {
        try await SQLTransactionTests.withCluster { demo in
            let gateway = demo.nodes[0].gateway
            let session = SQLSession(gateway: gateway)
            _ = try await session.execute("CREATE TABLE pooled (id int PRIMARY KEY, v text DEFAULT 'd', n int CHECK (n > 0))")
            _ = try await session.execute("INSERT INTO pooled (id, n) VALUES (1, 1)")
            #expect(gateway.insertScratch.idleCount(table: "pooled") == 1)
            // A CHECK refused in the scratch copy, then a duplicate key refused by the shard: the
            // next INSERT through the same copy stores its own row and nothing else.
            await #expect(throws: SQLError.self) { try await session.execute("INSERT INTO pooled (id, n) VALUES (2, -1)") }
            await #expect(throws: SQLError.self) { try await session.execute("INSERT INTO pooled (id, n) VALUES (1, 5)") }
            _ = try await session.execute("INSERT INTO pooled (id, v, n) VALUES (3, 'three', -(-3))")
            #expect(try await session.execute("SELECT id, v, n FROM pooled ORDER BY id")[0].rows
                    == [[.integer(1), .text("d"), .integer(1)], [.integer(3), .text("three"), .integer(3)]])
            // ALTER TABLE: the new column's default is filled in, which an old copy could not do.
            _ = try await session.execute("ALTER TABLE pooled ADD COLUMN x int DEFAULT 7")
            _ = try await session.execute("INSERT INTO pooled (id, n) VALUES (4, 4)")
            #expect(try await session.execute("SELECT x FROM pooled WHERE id = 4")[0].rows == [[.integer(7)]])
            // The connection's history is not for INSERTs to read (another session's INSERTs
            // went through the same copy), and PostgreSQL has no such functions.
            for call in ["last_insert_rowid()", "changes()", "(SELECT total_changes())"] {
                await #expect(throws: SQLError.self) { try await session.execute("INSERT INTO pooled (id, n) VALUES (99, \(call))") }
            }
            // A copy that evaluated many rows is not kept (SQLite keeps its pages after DELETE).
            let idleBefore = gateway.insertScratch.idleCount(table: "pooled")
            let many = (100..<200).map { "(\($0), \($0))" }.joined(separator: ", ")
            _ = try await session.execute("INSERT INTO pooled (id, n) VALUES \(many)")
            #expect(gateway.insertScratch.idleCount(table: "pooled") == idleBefore - 1)
            _ = try await session.execute("DELETE FROM pooled WHERE id >= 100")
            // Concurrent INSERTs each get a copy of their own.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in 10..<30 {
                    group.addTask {
                        _ = try await SQLSession(gateway: gateway).execute("INSERT INTO pooled (id, v, n) VALUES (\(id), 'v\(id)', \(id))")
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await session.execute("SELECT count(*), sum(n) FROM pooled WHERE id >= 10 AND v = 'v' || id")[0].rows
                    == [[.integer(20), .integer(390)]])
            #expect(gateway.insertScratch.idleCount(table: "pooled") <= ScratchTablePool.idlePerTableMax)
        }
    }
}
