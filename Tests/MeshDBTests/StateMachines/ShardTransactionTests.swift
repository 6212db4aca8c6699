import Consensus
import Foundation
import Testing

@testable import MeshDB

/// Transaction blocks in the shard state machine, driven as PBFT drives it: ordered requests in,
/// results out. Time is the clock the ordered steps carry, never a replica's own.
@Suite struct ShardTransactionTests {
    typealias T = ShardStateMachineTests
    static let gateway: UInt64 = 7
    /// Another gateway's PBFT client: ids come in blocks of `gatewayClientsPerNode` per node.
    static let otherGateway: UInt64 = 7 + ClusterLayout.gatewayClientsPerNode
    static let idle: UInt64 = 500

    static func step(_ id: UInt64, _ step: TransactionStep, at clock: UInt64 = 1_000, idle: UInt64 = idle) -> ShardOperation {
        .transaction(TransactionOperation(id: TransactionID(id), clockMillis: clock, idleTimeoutMillis: idle, step: step))
    }

    static func run(_ machine: ShardStateMachine, _ operations: [ShardOperation], client: UInt64 = gateway) -> [ShardResult] {
        operations.map { machine.execute(operation: $0.encoded(), client: client) }
    }

    static func kind(_ result: ShardResult) -> ShardFailure.Kind? { T.failure(result)?.kind }

    /// Rows as a read outside any block sees them: committed ones only.
    static func committed(_ machine: ShardStateMachine) -> [[SQLiteValue]]? {
        T.rows(run(machine, [T.selectAll])[0])
    }

    static func prepared(_ directory: TemporaryDirectory, _ name: String = "replica") throws -> ShardStateMachine {
        let machine = try T.machine(directory, name)
        _ = run(machine, [.createShard(T.users, ddl: T.ddl), .write(T.users, statements: [T.insert(1, "ada")])])
        return machine
    }

    @Test func aBlockSeesItsOwnWritesAndOthersSeeThemOnlyAfterCommit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        let results = Self.run(machine, [
            Self.step(1, .begin),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace"), T.insert(3, "alan")])),
            Self.step(1, .read(T.users, sql: "SELECT id, name FROM users ORDER BY id", parameters: [])),
        ])
        #expect(results[0] == .ok([]))
        #expect(T.rows(results[2]) == [[1, "ada"], [2, "grace"], [3, "alan"]])
        #expect(Self.committed(machine) == [[1, "ada"]])
        // A local or verified read takes the same path as the ordered one.
        #expect(T.rows(machine.localQuery(T.users, "SELECT id FROM users ORDER BY id")) == [[1]])
        #expect(machine.transactionTable.holder(of: T.users) == TransactionID(1))
        #expect(Self.run(machine, [Self.step(1, .commit, at: 1_100)])[0] == .ok([]))
        #expect(Self.committed(machine) == [[1, "ada"], [2, "grace"], [3, "alan"]])
        #expect(machine.transactionTable.blocks.isEmpty)
        #expect(machine.transactionTable.holder(of: T.users) == nil)
    }

    @Test func writesOutsideTheBlockAreParkedUntilItEnds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        _ = Self.run(machine, [Self.step(1, .begin), Self.step(1, .write(T.users, statements: [T.insert(2, "grace")]))])
        let refused = Self.run(machine, [
            .write(T.users, statements: [T.insert(4, "edsger")]),
            .dropShard(T.users),
            Self.step(2, .begin),
            Self.step(2, .read(T.users, sql: "SELECT count(*) FROM users", parameters: [])),
        ], client: Self.otherGateway)
        #expect(Self.kind(refused[0]) == .transactionBusy)
        #expect(T.failure(refused[0])?.sqlState == "55P03")
        #expect(Self.kind(refused[1]) == .transactionBusy)
        #expect(refused[2] == .ok([]))
        #expect(Self.kind(refused[3]) == .transactionBusy)
        #expect(machine.transactionTable.waitsFor[TransactionID(2)] == TransactionID(1))
        #expect(Self.run(machine, [Self.step(1, .commit)])[0] == .ok([]))
        // Retried after the commit, both go through, and block 2 sees block 1's row.
        let retried = Self.run(machine, [
            .write(T.users, statements: [T.insert(4, "edsger")]),
            Self.step(2, .read(T.users, sql: "SELECT count(*) FROM users", parameters: [])),
        ], client: Self.otherGateway)
        #expect(T.failure(retried[0]) == nil)
        #expect(T.rows(retried[1]) == [[3]])
    }

    @Test func rollbackDiscardsEveryWriteOfTheBlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        // The group clock is part of the state: bring it to the blocks' time first.
        _ = Self.run(machine, [.tick(clockMillis: 1_000)])
        let before = machine.stateDigest
        let results = Self.run(machine, [
            Self.step(1, .begin),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
            Self.step(1, .write(T.users, statements: [ShardStore.Statement("UPDATE users SET name = 'x' WHERE id = 1")])),
            Self.step(1, .rollback),
            Self.step(1, .rollback),
        ])
        #expect(results[3] == .ok([]))
        #expect(results[4] == .ok([]), "rolling back a block that is gone rolls back nothing")
        #expect(Self.committed(machine) == [[1, "ada"]])
        #expect(machine.stateDigest == before)
    }

    @Test func aFailingStatementAbortsTheWholeBlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        let results = Self.run(machine, [
            Self.step(1, .begin),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
            Self.step(1, .write(T.users, statements: [T.insert(3, "ada")])),  // duplicate name
            Self.step(1, .write(T.users, statements: [T.insert(4, "edsger")])),
            Self.step(1, .commit),
        ])
        #expect(T.failure(results[2])?.sqlState == "23505")
        #expect(Self.kind(results[3]) == .transactionAborted)
        #expect(Self.kind(results[4]) == .transactionAborted)
        #expect(Self.committed(machine) == [[1, "ada"]])
        #expect(machine.transactionTable.holder(of: T.users) == nil)
        #expect(T.failure(Self.run(machine, [.write(T.users, statements: [T.insert(2, "grace")])])[0]) == nil)
    }

    @Test func anIdleBlockIsAbortedWhenTheOrderedClockPassesItsTimeout() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        _ = Self.run(machine, [
            Self.step(1, .begin, at: 1_000),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")]), at: 1_100),
        ])
        // A tick from a gateway whose clock lags does not move the group clock back.
        #expect(Self.run(machine, [.tick(clockMillis: 10), .tick(clockMillis: 1_600)]) == [.ok([]), .ok([])])
        #expect(machine.transactionTable.clockMillis == 1_600)
        #expect(machine.transactionTable.blocks[TransactionID(1)] != nil, "idle for exactly its timeout: still open")
        #expect(Self.run(machine, [.tick(clockMillis: 1_601)])[0] == .ok([]))
        #expect(machine.transactionTable.blocks.isEmpty)
        #expect(Self.committed(machine) == [[1, "ada"]])
        let late = Self.run(machine, [Self.step(1, .commit, at: 1_700)])[0]
        // A clock at the top of its range expires what is idle, not what began at that instant.
        let top = Self.run(machine, [Self.step(2, .begin, at: .max), Self.step(2, .write(T.users, statements: [T.insert(5, "top")]), at: .max)])
        #expect(top[1] == .ok([ShardStore.StatementResult(rowsChanged: 1, columns: [], rows: [])]))
        #expect(machine.transactionTable.blocks[TransactionID(2)] != nil)
        #expect(Self.kind(late) == .transactionAborted)
        #expect(T.failure(late)?.sqlState == "25P03")
    }

    @Test func onlyTheGatewayThatBeganABlockMaySteerIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        _ = Self.run(machine, [Self.step(1, .begin), Self.step(1, .write(T.users, statements: [T.insert(2, "grace")]))])
        let intruder = Self.run(machine, [Self.step(1, .commit), Self.step(1, .rollback)], client: Self.otherGateway)
        #expect(Self.kind(intruder[0]) == .transactionAborted)
        #expect(Self.kind(intruder[1]) == .transactionAborted)
        #expect(machine.transactionTable.blocks[TransactionID(1)] != nil)
        #expect(Self.committed(machine) == [[1, "ada"]])
    }

    @Test func aCycleOfWaitingBlocksAbortsTheBlockThatWouldCloseIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        let orders = try ShardID(table: "users", shard: 4)
        _ = Self.run(machine, [.createShard(orders, ddl: T.ddl)])
        let results = Self.run(machine, [
            Self.step(1, .begin), Self.step(2, .begin),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
            Self.step(2, .write(orders, statements: [T.insert(2, "grace")])),
            Self.step(1, .write(orders, statements: [T.insert(3, "alan")])),   // waits for 2
            Self.step(2, .write(T.users, statements: [T.insert(3, "alan")])),  // would wait for 1
        ])
        #expect(Self.kind(results[4]) == .transactionBusy)
        #expect(Self.kind(results[5]) == .transactionDeadlock)
        #expect(T.failure(results[5])?.sqlState == "40P01")
        #expect(machine.transactionTable.blocks.keys.sorted() == [TransactionID(1)])
        // Block 2 is gone with its lock, so block 1's retry goes through and it commits.
        let finish = Self.run(machine, [Self.step(1, .write(orders, statements: [T.insert(3, "alan")])), Self.step(1, .commit)])
        #expect(T.failure(finish[0]) == nil)
        #expect(finish[1] == .ok([]))
        #expect(Self.committed(machine) == [[1, "ada"], [2, "grace"]])
    }

    @Test func replicasAgreeOnResultsAndDigestsWithBlocksOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let a = try Self.prepared(directory, "a")
        let b = try Self.prepared(directory, "b")
        let operations: [ShardOperation] = [
            Self.step(1, .begin, at: 1_000),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")]), at: 1_050),
            .write(T.users, statements: [T.insert(5, "parked")]),
            Self.step(2, .begin, at: 1_100, idle: 100),
            .tick(clockMillis: 1_300),  // block 2 expires, block 1 does not
            Self.step(1, .read(T.users, sql: "SELECT id, name FROM users ORDER BY id", parameters: []), at: 1_400),
        ]
        let resultsA = Self.run(a, operations)
        let resultsB = Self.run(b, operations)
        #expect(resultsA == resultsB)
        #expect(a.stateDigest == b.stateDigest)
        #expect(a.snapshot() == b.snapshot())
        // A replica that differs only in an open block's uncommitted write has another digest.
        let c = try Self.prepared(directory, "c")
        var divergent = operations
        divergent[1] = Self.step(1, .write(T.users, statements: [T.insert(2, "grice")]), at: 1_050)
        _ = Self.run(c, divergent)
        #expect(c.stateDigest != a.stateDigest)
        #expect(Self.committed(c) == Self.committed(a))
    }

    @Test func aReplicaRestoredFromASnapshotReopensTheOpenBlocks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try Self.prepared(directory, "source")
        _ = Self.run(source, [
            Self.step(1, .begin),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace"), T.insert(3, "alan")])),
            Self.step(1, .write(T.users, statements: [ShardStore.Statement("DELETE FROM users WHERE id = 1")])),
        ])
        let target = try T.machine(directory, "target")
        try target.restore(from: source.snapshot())
        #expect(target.stateDigest == source.stateDigest)
        #expect(Self.committed(target) == [[1, "ada"]])
        #expect(target.transactionTable == source.transactionTable)
        let rest: [ShardOperation] = [
            .write(T.users, statements: [T.insert(9, "parked")]),
            Self.step(1, .read(T.users, sql: "SELECT id FROM users ORDER BY id", parameters: [])),
            Self.step(1, .commit),
            T.selectAll,
        ]
        let expected = Self.run(source, rest)
        #expect(Self.run(target, rest) == expected)
        #expect(Self.kind(expected[0]) == .transactionBusy)
        #expect(T.rows(expected[1]) == [[2], [3]])
        #expect(T.rows(expected[3]) == [[2, "grace"], [3, "alan"]])
        #expect(target.stateDigest == source.stateDigest)
    }

    @Test func aSnapshotWhoseOpenBlockDoesNotReplayIsRefusedAndTheStateIsUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try Self.prepared(directory, "source")
        _ = Self.run(source, [Self.step(1, .begin), Self.step(1, .write(T.users, statements: [T.insert(2, "xyz")]))])
        var snapshot = source.snapshot()
        // The uncommitted name lives only in the block's log; make it collide with a committed row.
        let needle = Array("xyz".utf8)
        let at = try #require(snapshot.indices.dropLast(2).first { Array(snapshot[$0..<($0 + 3)]) == needle })
        snapshot.replaceSubrange(at..<(at + 3), with: Array("ada".utf8))
        let target = try Self.prepared(directory, "target")
        _ = Self.run(target, [.write(T.users, statements: [T.insert(7, "kept")])])
        let before = target.stateDigest
        #expect(throws: StateMachineError.self) { try target.restore(from: snapshot) }
        #expect(target.stateDigest == before)
        #expect(Self.committed(target) == [[1, "ada"], [7, "kept"]])
        #expect(target.transactionTable.blocks.isEmpty)
    }

    @Test func aStepWhoseResultIsTooLargeForAReplySaysWhetherItWasApplied() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try ShardStateMachine(directory: directory.file("small"), durability: .os, resultBytesMax: 200)
        let long = String(repeating: "x", count: 300)
        let results = Self.run(machine, [
            .createShard(T.users, ddl: T.ddl),
            Self.step(1, .begin),
            Self.step(1, .write(T.users, statements: [ShardStore.Statement("INSERT INTO users VALUES (1, ?1) RETURNING name", [.text(long)])])),
            Self.step(1, .read(T.users, sql: "SELECT name FROM users", parameters: [])),
            Self.step(1, .read(T.users, sql: "SELECT count(*) FROM users", parameters: [])),
        ])
        #expect(T.failure(results[2])?.message.hasPrefix("the write was applied inside its transaction block, but its result of") == true)
        #expect(T.failure(results[3])?.message.hasPrefix("its result of") == true)
        #expect(T.rows(results[4]) == [[1]], "the block is still open, with its write")
    }

    @Test func transactionOperationsRoundTripAndMalformedTablesAreRefused() throws {
        let operations: [ShardOperation] = [
            Self.step(.max, .begin, at: .max, idle: 1),
            Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
            Self.step(1, .read(T.users, sql: "SELECT 1", parameters: [.blob([1, 2])])),
            Self.step(1, .commit), Self.step(1, .rollback), .tick(clockMillis: 42),
        ]
        for operation in operations {
            #expect(try ShardOperation(decoding: operation.encoded()) == operation)
        }
        var bad = Self.step(1, .commit).encoded()
        bad[bad.count - 1] = 77
        #expect(throws: DecodeError.self) { try ShardOperation(decoding: bad) }
        // A table where one shard is held twice is not a state any replica reaches.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        _ = Self.run(machine, [Self.step(1, .begin), Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
                               Self.step(2, .begin)])
        var encoded = machine.transactionTable.encoded()
        #expect(try ShardTransactionTable(decoding: encoded) == machine.transactionTable)
        encoded.append(0)
        #expect(throws: DecodeError.self) { try ShardTransactionTable(decoding: encoded) }
        let tooLong = Self.run(machine, [Self.step(3, .begin, idle: ShardTransactionTable.Limits().idleTimeoutMillisMax + 1)])[0]
        #expect(Self.kind(tooLong) == .limitExceeded)
        #expect(T.failure(tooLong)?.message.contains("idle_timeout_millis_max") == true)
    }

    /// A waiter's recorded wait names the block it was refused by; once that block ends and a
    /// third takes the shard, the record is stale until the waiter's next attempt (the gateway
    /// retries at least every `lockRetryAttemptInterval`), which records the new holder and lets
    /// the cycle be seen.
    @Test func aRetriedStepRecordsItsNewHolderSoALaterCycleIsFound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        let other = try ShardID(table: "users", shard: 4)
        _ = Self.run(machine, [.createShard(other, ddl: T.ddl)])
        let write = { (id: UInt64, shard: ShardID, key: Int64) in Self.step(id, .write(shard, statements: [T.insert(key, "n\(id)-\(key)")])) }
        let results = Self.run(machine, [
            Self.step(1, .begin), Self.step(2, .begin), Self.step(3, .begin),
            write(1, T.users, 10),  // 1 holds users
            write(2, other, 20),    // 2 holds other
            write(1, other, 11),    // 1 waits for 2
            Self.step(2, .commit),  // 2 ends: other is free, 1 has not retried yet
            write(3, other, 30),    // 3 takes other first
            write(3, T.users, 31),  // 3 waits for 1; 1's record still names 2, so no cycle yet
            write(1, other, 11),    // 1 retries, waits for 3: the cycle 1 → 3 → 1 closes here
        ])
        #expect(Array(results[3...7].map { T.failure($0) == nil }) == [true, true, false, true, true])
        #expect(Self.kind(results[5]) == .transactionBusy)
        #expect(Self.kind(results[8]) == .transactionBusy)
        #expect(Self.kind(results[9]) == .transactionDeadlock)
        #expect(machine.transactionTable.blocks.keys.sorted() == [TransactionID(3)])
    }

    @Test func transactionDecodersNeverTrap() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.prepared(directory)
        let operations: [ShardOperation] = [
            Self.step(1, .begin), Self.step(1, .write(T.users, statements: [T.insert(2, "grace")])),
            Self.step(2, .begin), Self.step(2, .read(T.users, sql: "SELECT 1", parameters: [.integer(1)])),
        ]
        _ = Self.run(machine, operations)
        let table = machine.transactionTable.encoded()
        var decodedTables = 0
        for bytes in StateMachineCodecFuzzTests.mutations(of: [table], seed: 11, count: 2_000) {
            if let decoded = try? ShardTransactionTable(decoding: bytes) {
                decodedTables += 1
                #expect(decoded.encoded() == bytes, "a decoded table has exactly one encoding")
            }
        }
        #expect(decodedTables < 2_000)
        for bytes in StateMachineCodecFuzzTests.mutations(of: operations.map { $0.encoded() } + [ShardOperation.tick(clockMillis: 5).encoded()],
                                                          seed: 12, count: 3_000) {
            if let operation = try? ShardOperation(decoding: bytes) {
                #expect(operation.encoded() == bytes, "a decoded operation has exactly one encoding")
            }
        }
    }
}
