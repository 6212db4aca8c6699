import Consensus
import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// Transaction blocks through `SQLSession` on four in-process nodes: all or nothing, invisible
/// before COMMIT, read-your-own-writes, 25P02 after an error, the idle timeout, and concurrent
/// blocks that serialize.
@Suite(.heavy, .serialized) struct SQLTransactionTests {
    static func withCluster(_ body: (LocalCluster) async throws -> Void) async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            try await body(demo)
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }

    static func count(_ session: SQLSession, _ sql: String = "SELECT count(*) FROM items") async throws -> Int64 {
        guard case .integer(let count) = try await session.execute(sql)[0].rows[0][0] else { return -1 }
        return count
    }

    /// How many transaction blocks each node's replica of the shard group holds open.
    static func openBlocks(_ demo: LocalCluster) async throws -> [Int] {
        var counts: [Int] = []
        for node in demo.nodes {
            counts.append(try await node.runtime.readStateMachine(group: 1) { ($0 as! ShardStateMachine).transactionTable.blocks.count })
        }
        return counts
    }

    static func state(_ error: any Error) -> String? { (error as? SQLError)?.state.code }

    @Test func committedRowsAppearAtOnceAndNotBefore() async throws {
        try await Self.withCluster { demo in
            let writer = SQLSession(gateway: demo.nodes[0].gateway)
            let reader = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await writer.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4")
            #expect(await writer.transactionStatus == .idle)
            let begun = try await writer.execute("BEGIN")
            #expect(begun.map(\.tag) == ["BEGIN"])
            #expect(await writer.transactionStatus == .inTransaction)
            _ = try await writer.execute("INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')")
            _ = try await writer.execute("UPDATE items SET name = 'B' WHERE id = 2")
            // Read-your-own-writes, by key and across every shard.
            #expect(try await writer.execute("SELECT name FROM items WHERE id = 2")[0].rows == [[.text("B")]])
            #expect(try await Self.count(writer) == 5)
            // Another session, on another node, sees nothing yet, in every consistency.
            #expect(try await Self.count(reader) == 0)
            _ = try await reader.execute("SET mesh.read_consistency = local")
            #expect(try await Self.count(reader) == 0)
            let committed = try await writer.execute("COMMIT")
            #expect(committed.map(\.tag) == ["COMMIT"])
            #expect(await writer.transactionStatus == .idle)
            _ = try await reader.execute("SET mesh.read_consistency = verified")
            #expect(try await Self.count(reader) == 5)
            #expect(try await reader.execute("SELECT name FROM items WHERE id = 2")[0].rows == [[.text("B")]])
            // START TRANSACTION … END, in one message.
            let tags = try await writer.execute("START TRANSACTION; DELETE FROM items WHERE id > 3; END").map(\.tag)
            #expect(tags == ["BEGIN", "DELETE 2", "COMMIT"])
            #expect(try await Self.count(reader) == 3)
        }
    }

    @Test func rollbackDiscardsTheBlock() async throws {
        try await Self.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4; INSERT INTO items VALUES (1, 'kept')")
            _ = try await session.execute("BEGIN; INSERT INTO items VALUES (2, 'x'), (3, 'y'); DELETE FROM items WHERE id = 1")
            #expect(try await Self.count(session) == 2)
            #expect(try await session.execute("ROLLBACK").map(\.tag) == ["ROLLBACK"])
            #expect(try await session.execute("SELECT id, name FROM items")[0].rows == [[.integer(1), .text("kept")]])
            // ABORT is ROLLBACK; outside a block, COMMIT and ROLLBACK do nothing.
            _ = try await session.execute("BEGIN; INSERT INTO items VALUES (4, 'z'); ABORT")
            #expect(try await Self.count(session) == 1)
            #expect(try await session.execute("COMMIT; ROLLBACK").map(\.tag) == ["COMMIT", "ROLLBACK"])
        }
    }

    @Test func anErrorAbortsTheBlockUntilRollback() async throws {
        try await Self.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4; INSERT INTO items VALUES (1, 'a')")
            _ = try await session.execute("BEGIN; INSERT INTO items VALUES (2, 'b')")
            await #expect { try await session.execute("INSERT INTO items VALUES (1, 'dup')") } throws: { Self.state($0) == "23505" }
            #expect(await session.transactionStatus == .failed)
            await #expect { try await session.execute("SELECT 1") } throws: { error in
                Self.state(error) == "25P02" && (error as? SQLError)?.message == "current transaction is aborted, commands ignored until end of transaction block"
            }
            await #expect { try await session.execute("BEGIN") } throws: { Self.state($0) == "25P02" }
            // An error the gateway finds (not a shard) aborts the block too.
            #expect(try await session.execute("ROLLBACK").map(\.tag) == ["ROLLBACK"])
            _ = try await session.execute("BEGIN; INSERT INTO items VALUES (3, 'c')")
            await #expect { try await session.execute("SELECT nope FROM items") } throws: { Self.state($0) == "42703" }
            await #expect { try await session.execute("INSERT INTO items VALUES (4, 'd')") } throws: { Self.state($0) == "25P02" }
            _ = try await session.execute("ROLLBACK; BEGIN; INSERT INTO items VALUES (3, 'c')")
            await #expect { try await session.execute("SELEC 1") } throws: { Self.state($0) == "42601" }
            #expect(await session.transactionStatus == .failed, "a syntax error aborts the block too")
            // COMMIT of a failed block rolls it back and says so.
            #expect(try await session.execute("COMMIT").map(\.tag) == ["ROLLBACK"])
            #expect(await session.transactionStatus == .idle)
            #expect(try await session.execute("SELECT id FROM items ORDER BY id")[0].rows == [[.integer(1)]])
            // The shards are free again: a write outside any block goes straight through.
            _ = try await session.execute("INSERT INTO items VALUES (2, 'b')")
            #expect(try await Self.count(session) == 2)
        }
    }

    @Test func anAbandonedBlockIsAbortedAfterItsIdleTimeoutAndLeavesNothingBehind() async throws {
        try await Self.withCluster { demo in
            let abandoned = SQLSession(gateway: demo.nodes[0].gateway)
            let other = SQLSession(gateway: demo.nodes[2].gateway)
            _ = try await abandoned.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4")
            // 5 s, not less: the block's own statement is several ordered steps, and on a loaded CI
            // machine 300 ms, then 2 s, passed between two of them, so the block was aborted
            // mid-INSERT.
            _ = try await abandoned.execute("SET idle_in_transaction_session_timeout = '5s'")
            #expect(try await abandoned.execute("SHOW idle_in_transaction_session_timeout")[0].rows == [[.text("5000ms")]])
            _ = try await abandoned.execute("BEGIN; INSERT INTO items VALUES (1, 'ghost'), (2, 'ghost'), (3, 'ghost'), (4, 'ghost')")
            // The client goes silent. Another session's write to the same rows waits, then the
            // ordered clock passes the block's idle timeout, the group aborts it, and the write
            // goes through.
            let start = ContinuousClock.now
            _ = try await other.execute("INSERT INTO items VALUES (1, 'real'), (2, 'real'), (3, 'real'), (4, 'real')")
            #expect(ContinuousClock.now - start < .seconds(20))
            #expect(try await other.execute("SELECT DISTINCT name FROM items")[0].rows == [[.text("real")]])
            // The session that came back learns that its block is gone.
            await #expect { try await abandoned.execute("COMMIT") } throws: { Self.state($0) == "25P03" }
            #expect(await abandoned.transactionStatus == .idle)
            #expect(try await Self.count(other) == 4)
            // Every replica, including any that trails the f+1 that answered.
            try await GatewayTests.eventually { try await Self.openBlocks(demo) == [0, 0, 0, 0] }
            #expect(try await Self.openBlocks(demo) == [0, 0, 0, 0])
        }
    }

    /// psycopg2 with autocommit off opens a block before CREATE TABLE too: DDL first in a block runs
    /// at once (ROLLBACK does not undo it); after the block has touched shards it is refused.
    @Test func ddlRunsAtOnceFirstInABlockAndIsRefusedAfterItsFirstQuery() async throws {
        try await Self.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("BEGIN; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4; INSERT INTO items VALUES (1, 'a')")
            await #expect { try await session.execute("DROP TABLE items") } throws: { Self.state($0) == "0A000" }
            #expect(await session.transactionStatus == .failed)
            _ = try await session.execute("ROLLBACK")
            #expect(try await Self.count(session) == 0, "the table stays, its rows went with the block")
        }
    }

    /// No one else uses the group: the nodes' sweep orders a tick once the timeout has passed.
    @Test func anAbandonedBlockInAQuietGroupIsAbortedBySweep() async throws {
        try await Self.withCluster { demo in
            let abandoned = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await abandoned.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4")
            _ = try await abandoned.execute("SET idle_in_transaction_session_timeout = 1000; BEGIN; INSERT INTO items VALUES (1, 'ghost')")
            #expect(try await Self.openBlocks(demo).contains(1))
            let start = ContinuousClock.now
            try await GatewayTests.eventually { try await Self.openBlocks(demo) == [0, 0, 0, 0] }
            #expect(try await Self.openBlocks(demo) == [0, 0, 0, 0])
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(try await Self.count(SQLSession(gateway: demo.nodes[0].gateway)) == 0)
        }
    }

    @Test func closingASessionRollsItsBlockBack() async throws {
        try await Self.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4")
            _ = try await session.execute("BEGIN; INSERT INTO items VALUES (1, 'gone')")
            await session.close()
            // A statement that reaches the closed session later never commits on its own.
            await #expect { try await session.execute("INSERT INTO items VALUES (2, 'late')") } throws: { Self.state($0) == "25P02" }
            let other = SQLSession(gateway: demo.nodes[1].gateway)
            let start = ContinuousClock.now
            _ = try await other.execute("INSERT INTO items VALUES (1, 'here')")
            #expect(ContinuousClock.now - start < .seconds(5), "the shard was released at close, not after the idle timeout")
            #expect(try await other.execute("SELECT name FROM items")[0].rows == [[.text("here")]])
        }
    }

    @Test func aWriteToRowsTheBlockHoldsWaitsForCommitAndThenAppliesOnTop() async throws {
        try await Self.withCluster { demo in
            let holder = SQLSession(gateway: demo.nodes[0].gateway)
            let writer = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await holder.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4; INSERT INTO items VALUES (1, 'a')")
            _ = try await holder.execute("BEGIN; UPDATE items SET name = name || '+block' WHERE id = 1")
            let parked = Task { try await writer.execute("UPDATE items SET name = name || '+single' WHERE id = 1") }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await SQLSession(gateway: demo.nodes[2].gateway).execute("SELECT name FROM items")[0].rows == [[.text("a")]])
            _ = try await holder.execute("COMMIT")
            #expect(try await parked.value.map(\.tag) == ["UPDATE 1"])
            #expect(try await writer.execute("SELECT name FROM items")[0].rows == [[.text("a+block+single")]])
        }
    }

    /// A replica that restarts while a block is open rebuilds the block from its checkpoint and
    /// log, commits it with the others and ends with the same state.
    @Test func aReplicaRestartedWhileABlockIsOpenAgreesAfterCommit() async throws {
        try await Self.withCluster { demo in
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL) SHARDS 4")
            _ = try await session.execute("BEGIN")
            // Enough ordered steps to pass several checkpoints (every 8 sequences in these tests).
            for id in 1...24 { _ = try await session.execute("INSERT INTO items VALUES (\(id), 'row \(id)')") }
            let restarted = try await demo.restartNode(3)
            for id in 25...30 { _ = try await session.execute("INSERT INTO items VALUES (\(id), 'row \(id)')") }
            _ = try await session.execute("COMMIT")
            let local = SQLSession(gateway: restarted.gateway)
            _ = try await local.execute("SET mesh.read_consistency = local")
            try await GatewayTests.eventually(20) { try await Self.count(local) == 30 }
            #expect(try await Self.count(local) == 30)
            func digests() async throws -> [Digest] {
                var digests: [Digest] = []
                for node in demo.nodes { digests.append(try await node.runtime.readStateMachine(group: 1) { $0.stateDigest }) }
                return digests
            }
            try await GatewayTests.eventually(20) { Set(try await digests()).count == 1 }
            #expect(Set(try await digests()).count == 1)
        }
    }

    /// pgbench-like transfers from concurrent sessions on different nodes: each block reads two
    /// balances and moves money between them. Serializable execution keeps the total; a block
    /// picked as a deadlock victim (40P01) is retried, as a client does.
    @Test func concurrentTransfersKeepTheTotal() async throws {
        try await Self.withCluster { demo in
            let setup = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await setup.execute("CREATE TABLE balances (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL) SHARDS 4")
            _ = try await setup.execute("INSERT INTO balances VALUES " + (1...8).map { "(\($0), 100)" }.joined(separator: ", "))
            let gateways = demo.nodes.map(\.gateway)
            let retried = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<4 {
                    group.addTask {
                        let session = SQLSession(gateway: gateways[client])
                        var generator = SeededBytes(seed: UInt64(client + 1))
                        var retries = 0
                        for _ in 0..<6 {
                            let from = Int(generator.next() % 8) + 1
                            let to = (from + Int(generator.next() % 7)) % 8 + 1
                            let amount = Int(generator.next() % 20) + 1
                            while true {
                                do {
                                    _ = try await session.execute("BEGIN")
                                    let rows = try await session.execute("SELECT amount FROM balances WHERE id = \(from)")[0].rows
                                    guard case .integer(let balance) = rows[0][0] else { throw SQLError(.internalError, "no balance") }
                                    _ = try await session.execute("UPDATE balances SET amount = \(balance - Int64(amount)) WHERE id = \(from)")
                                    _ = try await session.execute("UPDATE balances SET amount = amount + \(amount) WHERE id = \(to)")
                                    _ = try await session.execute("COMMIT")
                                    break
                                } catch let error as SQLError where error.state.code == "40P01" {
                                    _ = try await session.execute("ROLLBACK")
                                    retries += 1
                                }
                            }
                        }
                        return retries
                    }
                }
                var total = 0
                for try await retries in group { total += retries }
                return total
            }
            let sum = try await setup.execute("SELECT sum(amount), count(*) FROM balances")[0].rows
            #expect(sum == [[.integer(800), .integer(8)]], "after \(retried) deadlock retries")
            // Every replica, including any that trails the f+1 that answered.
            try await GatewayTests.eventually { try await Self.openBlocks(demo) == [0, 0, 0, 0] }
            #expect(try await Self.openBlocks(demo) == [0, 0, 0, 0])
        }
    }

    /// pgbench's TPC-B-like script (BEGIN … END with an INSERT into a table without a primary
    /// key) from concurrent sessions: every balance adds up to the history afterwards.
    @Test func tpcbLikeBlocksFromConcurrentSessionsAddUp() async throws {
        try await Self.withCluster { demo in
            let setup = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await setup.execute("""
                CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER NOT NULL) SHARDS 2;
                CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER NOT NULL) SHARDS 4;
                CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER NOT NULL) SHARDS 8;
                CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TIMESTAMP) SHARDS 2;
                INSERT INTO pgbench_branches VALUES (1, 0);
                INSERT INTO pgbench_tellers VALUES (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 0);
                INSERT INTO pgbench_accounts VALUES \((1...16).map { "(\($0), 1, 0)" }.joined(separator: ", "))
                """)
            let gateways = demo.nodes.map(\.gateway)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<4 {
                    group.addTask {
                        let session = SQLSession(gateway: gateways[client])
                        var generator = SeededBytes(seed: UInt64(100 + client))
                        for _ in 0..<5 {
                            let aid = generator.next() % 16 + 1, tid = generator.next() % 4 + 1
                            let delta = Int64(generator.next() % 10_001) - 5_000
                            let tags = try await session.execute("""
                                BEGIN;
                                UPDATE pgbench_accounts SET abalance = abalance + \(delta) WHERE aid = \(aid);
                                SELECT abalance FROM pgbench_accounts WHERE aid = \(aid);
                                UPDATE pgbench_tellers SET tbalance = tbalance + \(delta) WHERE tid = \(tid);
                                UPDATE pgbench_branches SET bbalance = bbalance + \(delta) WHERE bid = 1;
                                INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (\(tid), 1, \(aid), \(delta), CURRENT_TIMESTAMP);
                                END
                                """).map(\.tag)
                            #expect(tags == ["BEGIN", "UPDATE 1", "SELECT 1", "UPDATE 1", "UPDATE 1", "INSERT 0 1", "COMMIT"])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let sums = try await setup.execute("""
                SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),
                       (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history),
                       (SELECT count(*) FROM pgbench_history)
                """)[0].rows[0]
            #expect(sums[4] == .integer(20))
            #expect(Set(sums.prefix(4)).count == 1, "balances \(sums)")
        }
    }
}
