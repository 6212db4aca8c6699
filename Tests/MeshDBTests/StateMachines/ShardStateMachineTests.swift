import Consensus
import Foundation
import Testing

@testable import MeshDB

/// Drives `ShardStateMachine` as PBFT does: encoded operations in, encoded results out.
@Suite struct ShardStateMachineTests {
    static let users = try! ShardID(table: "users", shard: 3)
    static let ddl = ["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"]

    static func machine(_ directory: TemporaryDirectory, _ name: String = "replica") throws -> ShardStateMachine {
        try ShardStateMachine(directory: directory.file(name), durability: .os)
    }

    static func run(_ machine: ShardStateMachine, _ operations: [ShardOperation], sequence: UInt64 = 1) -> [ShardResult] {
        let requests = operations.enumerated().map { Request(client: 7, timestamp: UInt64($0.offset + 1), operation: $0.element.encoded()) }
        return machine.execute(sequence: sequence, requests: requests).map { try! ShardResult(decoding: $0) }
    }

    static func insert(_ id: Int64, _ name: String) -> ShardStore.Statement {
        ShardStore.Statement("INSERT INTO users (id, name) VALUES (?1, ?2)", [.integer(id), .text(name)])
    }

    static let selectAll = ShardOperation.read(users, sql: "SELECT id, name FROM users ORDER BY id", parameters: [])

    static func rows(_ result: ShardResult) -> [[SQLiteValue]]? {
        guard case .ok(let results) = result, results.count == 1 else { return nil }
        return results[0].rows
    }

    static func failure(_ result: ShardResult) -> ShardFailure? {
        guard case .failure(let failure) = result else { return nil }
        return failure
    }

    @Test func replicasFedTheSameRequestsAgreeOnResultsAndDigest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let a = try Self.machine(directory, "a")
        let b = try Self.machine(directory, "b")
        let operations: [ShardOperation] = [
            .createShard(Self.users, ddl: Self.ddl),
            .write(Self.users, statements: [Self.insert(1, "ada"), Self.insert(2, "grace")]),
            .write(Self.users, statements: [ShardStore.Statement("UPDATE users SET name = 'alan' WHERE id = 2")]),
            Self.selectAll,
        ]
        let resultsA = a.execute(sequence: 1, requests: operations.map { Request(client: 1, timestamp: 1, operation: $0.encoded()) })
        let resultsB = b.execute(sequence: 1, requests: operations.map { Request(client: 1, timestamp: 1, operation: $0.encoded()) })
        #expect(resultsA == resultsB)
        #expect(a.stateDigest == b.stateDigest)
        #expect(a.snapshot() == b.snapshot())
        #expect(Self.rows(try ShardResult(decoding: resultsA[3])) == [[1, "ada"], [2, "alan"]])
    }

    @Test func oneDifferingWriteChangesTheDigest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let a = try Self.machine(directory, "a")
        let b = try Self.machine(directory, "b")
        _ = Self.run(a, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
        _ = Self.run(b, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "adb")])])
        #expect(a.stateDigest != b.stateDigest)
    }

    /// A statement SQLite's authorizer refuses fails on every replica alike (42501) and the
    /// replica goes on. Regression: SQLITE_AUTH was taken for a local storage failure and stopped
    /// the process, so `ALTER TABLE … ADD COLUMN c int CHECK (…)` (SQLite checks the table's rows
    /// through pragma_quick_check, which the authorizer refused) stopped every replica of the
    /// group, and again at each replay of the log.
    @Test func anAuthorizerRefusalIsTheStatementsErrorAndAddColumnWithACheckRuns() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
        let refusal = machine.failure(from: .statementFailed(index: 0, SQLiteError(extendedResultCode: 23, message: "not authorized", sql: "")))
        #expect(refusal.sqlState == "42501")
        let results = Self.run(machine, [
            .write(Self.users, statements: [ShardStore.Statement("ALTER TABLE users ADD COLUMN age INTEGER CHECK (age > 0)")]),
            .write(Self.users, statements: [ShardStore.Statement("UPDATE users SET age = -1")]),
            .write(Self.users, statements: [ShardStore.Statement("UPDATE users SET age = 36")]),
            .read(Self.users, sql: "SELECT id, age FROM users", parameters: []),
            // A client's statement may not run a PRAGMA function (a whole-file scan whose answer
            // depends on the replica's file): refused before SQLite sees it.
            .write(Self.users, statements: [ShardStore.Statement("SELECT * FROM pragma_quick_check")]),
            .read(Self.users, sql: "SELECT * FROM \"PRAGMA_integrity_check\"", parameters: []),
            .write(Self.users, statements: [ShardStore.Statement("SELECT * FROM pragma_journal_mode")]),
        ], sequence: 2)
        #expect(Self.failure(results[0]) == nil, "\(results[0])")
        #expect(Self.failure(results[1])?.sqlState == "23514")
        #expect(Self.rows(results[3]) == [[1, 36]])
        for result in results[4...] { #expect(Self.failure(result)?.kind == .statementRefused, "\(result)") }
    }

    @Test func aFailingStatementRollsBackTheWholeWrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
        let before = machine.stateDigest
        let results = Self.run(machine, [
            .write(Self.users, statements: [Self.insert(2, "grace"), Self.insert(3, "ada")]),  // duplicate name
            Self.selectAll,
        ])
        let failure = try #require(Self.failure(results[0]))
        #expect(failure.kind == .sqlite)
        #expect(failure.sqliteExtendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(failure.sqlState == "23505")
        #expect(failure.statementIndex == 1)
        #expect(failure.message.contains("UNIQUE"))
        #expect(Self.rows(results[1]) == [[1, "ada"]])
        #expect(machine.stateDigest == before)
    }

    @Test func operationsOnAMissingShardAreErrorResults() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        let results = Self.run(machine, [
            .write(Self.users, statements: [Self.insert(1, "ada")]),
            Self.selectAll,
            .dropShard(Self.users),
            .createShard(Self.users, ddl: Self.ddl),
            .createShard(Self.users, ddl: Self.ddl),
        ])
        #expect(results.prefix(3).map { Self.failure($0)?.kind } == [.shardNotFound, .shardNotFound, .shardNotFound])
        #expect(results[3] == .ok([]))
        #expect(Self.failure(results[4])?.kind == .shardExists)
    }

    @Test func dropShardRemovesItsFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl)])
        #expect(FileManager.default.fileExists(atPath: machine.path(of: Self.users)))
        #expect(Self.run(machine, [.dropShard(Self.users)]) == [.ok([])])
        #expect(!FileManager.default.fileExists(atPath: machine.path(of: Self.users)))
        #expect(machine.shardIDs.isEmpty)
    }

    @Test func failingDDLLeavesNoShard() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        let result = Self.run(machine, [.createShard(Self.users, ddl: ["CREATE TABLE t (a)", "CREATE TABLE t (b)"])])[0]
        #expect(Self.failure(result)?.statementIndex == 1)
        #expect(machine.shardIDs.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: machine.path(of: Self.users)))
    }

    @Test func reopeningTheDirectoryFindsTheShards() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var digest = Digest.zero
        do {
            let machine = try Self.machine(directory)
            _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
            digest = machine.stateDigest
        }
        let reopened = try Self.machine(directory)
        #expect(reopened.shardIDs == [Self.users])
        #expect(reopened.stateDigest == digest)
    }

    @Test func readsRefuseEverythingButSelect() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
        let before = machine.stateDigest
        let attempts = [
            "DELETE FROM users",
            "  /* hidden */ -- comment\n update users SET name = 'x'",
            "WITH x AS (SELECT 1) DELETE FROM users",
            "PRAGMA user_version = 3",
            "INSERT INTO users VALUES (9, 'eve')",
            "",
        ]
        for sql in attempts {
            let result = Self.run(machine, [.read(Self.users, sql: sql, parameters: [])])[0]
            #expect(Self.failure(result)?.kind == .statementRefused, "\(sql)")
        }
        // A SELECT followed by a second statement is refused by SQLite before anything runs.
        let smuggled = Self.run(machine, [.read(Self.users, sql: "SELECT 1; DELETE FROM users", parameters: [])])[0]
        #expect(Self.failure(smuggled) != nil)
        let select = Self.run(machine, [.read(Self.users, sql: " -- c\n select name from users where id = ?1", parameters: [1])])[0]
        #expect(Self.rows(select) == [["ada"]])
        #expect(machine.stateDigest == before)
    }

    @Test func writesRefuseTransactionControlAndFileAccess() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl)])
        for sql in ["COMMIT", "BEGIN", "ATTACH DATABASE '/tmp/x.db' AS x", "PRAGMA journal_mode=DELETE",
                    "VACUUM", "CREATE TEMP TABLE t (a)", "SAVEPOINT s", "CREATE TABLE temp.t (a)",
                    "CREATE TABLE \"Temp\" . t (a)", "create temporary view v as select 1"] {
            let result = Self.run(machine, [.write(Self.users, statements: [Self.insert(1, "ada"), ShardStore.Statement(sql)])])[0]
            let failure = Self.failure(result)
            #expect(failure?.kind == .statementRefused, "\(sql)")
            #expect(failure?.statementIndex == 1)
        }
        #expect(Self.rows(Self.run(machine, [Self.selectAll])[0]) == [])
    }

    @Test func writesRefuseValuesThatDifferBetweenReplicas() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl)])
        for sql in ["INSERT INTO users VALUES (random(), 'x')", "INSERT INTO users VALUES (1, datetime('now'))",
                    "INSERT INTO users VALUES (1, CURRENT_TIMESTAMP)", "INSERT INTO users VALUES (last_insert_rowid(), 'x')",
                    "INSERT INTO users VALUES (1, date())", "UPDATE users SET name = hex(RandomBlob(4))",
                    "ALTER TABLE users ADD COLUMN seen TEXT DEFAULT (unixepoch ( ))"] {
            let failure = Self.failure(Self.run(machine, [.write(Self.users, statements: [ShardStore.Statement(sql)])])[0])
            #expect(failure?.kind == .statementRefused, "\(sql)")
        }
        let ddl = Self.run(machine, [.createShard(try ShardID(table: "t", shard: 0), ddl: ["CREATE TABLE t (a DEFAULT (random()))"])])[0]
        #expect(Self.failure(ddl)?.kind == .statementRefused)
        // The same words inside literals, quoted identifiers and comments are data, not calls.
        let allowed = [
            ShardStore.Statement("INSERT INTO users VALUES (1, 'random() at now') -- random()"),
            ShardStore.Statement("INSERT INTO users VALUES (2, date('2026-01-01', '+1 day'))"),
            ShardStore.Statement("INSERT INTO users (\"id\", [name]) VALUES (3, /* now */ 'it''s; fine');"),
            ShardStore.Statement("INSERT INTO main.users (id, name) SELECT 4, 'temp' AS temp"),
        ]
        #expect(Self.run(machine, [.write(Self.users, statements: allowed)])[0] == .ok(allowed.map { _ in
            ShardStore.StatementResult(rowsChanged: 1, columns: [], rows: []) }))
        #expect(Self.rows(Self.run(machine, [Self.selectAll])[0]) == [[1, "random() at now"], [2, "2026-01-02"], [3, "it's; fine"], [4, "temp"]])
    }

    @Test func resultsLargerThanAReplyAreDeterministicErrors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try ShardStateMachine(directory: directory.file("small"), durability: .os, resultBytesMax: 2_000)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl)])
        let big = (1...40).map { Self.insert($0, String(repeating: "n", count: 60) + "\($0)") }
        #expect(Self.run(machine, [.write(Self.users, statements: big)])[0] == .ok(big.map { _ in
            ShardStore.StatementResult(rowsChanged: 1, columns: [], rows: []) }))
        let read = Self.failure(Self.run(machine, [Self.selectAll])[0])
        #expect(read?.kind == .limitExceeded)
        #expect(read?.message.contains("result_bytes_max = 2000") == true)
        let returning = Self.failure(Self.run(machine, [.write(Self.users, statements: [
            ShardStore.Statement("UPDATE users SET name = name || '!' RETURNING name")])])[0])
        #expect(returning?.message.hasPrefix("the write was applied") == true)
        // More rows than the reply could ever hold stop inside SQLite, before they are buffered.
        let rows = Self.failure(Self.run(machine, [.read(Self.users, sql:
            "SELECT a.id FROM users a, users b, users c", parameters: [])])[0])
        #expect(rows?.kind == .sqlite)
        #expect(rows?.sqliteExtendedCode == 18)  // SQLITE_TOOBIG
    }

    @Test func removeAllShardsReturnsToTheInitialState() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fresh = try Self.machine(directory, "fresh")
        let machine = try Self.machine(directory)
        _ = Self.run(machine, [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])])
        machine.removeAllShards()
        #expect(machine.shardIDs.isEmpty)
        #expect(machine.stateDigest == fresh.stateDigest)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("replica")).isEmpty)
    }

    @Test func tableNamesThatCouldEscapeTheDirectoryAreRefused() throws {
        for name in ["../x", "/etc/passwd", "a.b", "Users", "", "1abc", "x/y", String(repeating: "a", count: 64), "é"] {
            #expect(throws: ShardIDError.self, "\(name)") { try ShardID(table: name, shard: 0) }
        }
        #expect(throws: ShardIDError.self) { try ShardID(table: "users", shard: 256) }
        // The same names arriving as bytes from a client are a malformed operation, not a file.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        var forged = ShardOperation.dropShard(try ShardID(table: "abcd", shard: 0)).encoded()
        let nameStart = 2 + 4
        forged.replaceSubrange(nameStart..<(nameStart + 4), with: Array("../x".utf8))
        let result = machine.execute(operation: forged)
        #expect(Self.failure(result)?.kind == .malformedOperation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["replica"])
    }

    @Test func operationsRoundTripThroughTheCodec() throws {
        let operations: [ShardOperation] = [
            .createShard(Self.users, ddl: Self.ddl + ["CREATE INDEX i ON users (name)"]),
            .dropShard(Self.users),
            .write(Self.users, statements: [ShardStore.Statement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                                                                 [nil, 42, 2.5, "tëxt", .blob([0, 1, 255])])]),
            .read(Self.users, sql: "SELECT 1", parameters: [.integer(-1)]),
        ]
        for operation in operations {
            #expect(try ShardOperation(decoding: operation.encoded()) == operation)
        }
        let results: [ShardResult] = [
            .ok([ShardStore.StatementResult(rowsChanged: 2, columns: ["a", "b"], rows: [[1, nil], [.blob([9]), 1.5]])]),
            .failure(ShardFailure(.sqlite, sqliteExtendedCode: 2067, message: "UNIQUE constraint failed", statementIndex: 4)),
            .failure(ShardFailure(.shardNotFound, message: "no")),
        ]
        for result in results {
            #expect(try ShardResult(decoding: result.encoded()) == result)
        }
    }

    @Test func operationLimitsAreNamedInTheError() throws {
        var limits = ShardOperation.Limits()
        limits.statementsPerOperationMax = 2
        let operation = ShardOperation.write(Self.users, statements: Array(repeating: Self.insert(1, "a"), count: 3))
        #expect(throws: DecodeError.limitExceeded(field: "statement count", count: 3, limit: 2)) {
            try ShardOperation(decoding: operation.encoded(), limits: limits)
        }
        let huge = [UInt8](repeating: 0, count: limits.operationBytesMax + 1)
        #expect(throws: DecodeError.limitExceeded(field: "operation bytes", count: huge.count, limit: limits.operationBytesMax)) {
            try ShardOperation(decoding: huge)
        }
    }

    /// Random and truncated bytes from a faulty client: every replica returns the same error
    /// result, nothing crashes, and the state does not change.
    @Test func malformedOperationBytesGiveTheSameErrorResultOnEveryReplica() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let a = try Self.machine(directory, "a")
        let b = try Self.machine(directory, "b")
        let setup: [ShardOperation] = [.createShard(Self.users, ddl: Self.ddl), .write(Self.users, statements: [Self.insert(1, "ada")])]
        _ = Self.run(a, setup)
        _ = Self.run(b, setup)
        let valid = [
            ShardOperation.write(Self.users, statements: [Self.insert(2, "grace"), Self.insert(3, "alan")]).encoded(),
            Self.selectAll.encoded(),
            ShardOperation.createShard(try ShardID(table: "other", shard: 1), ddl: Self.ddl).encoded(),
        ]
        var random = SeededBytes(seed: 20_261_121)
        var malformedSeen = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = random.bytes(Int(random.next() % 64))
            case 1:
                let source = valid[Int(random.next() % UInt64(valid.count))]
                bytes = Array(source.prefix(Int(random.next() % UInt64(source.count))))
            default:
                bytes = valid[0]
                let position = Int(random.next() % UInt64(bytes.count))
                bytes[position] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
            let before = round % 3 == 2 ? nil : a.stateDigest
            let resultA = a.execute(sequence: UInt64(round), requests: [Request(client: 1, timestamp: 1, operation: bytes)])
            let resultB = b.execute(sequence: UInt64(round), requests: [Request(client: 1, timestamp: 1, operation: bytes)])
            #expect(resultA == resultB, "round \(round)")
            if case .failure(let failure) = try ShardResult(decoding: resultA[0]),
               failure.kind == .malformedOperation || failure.kind == .limitExceeded {
                malformedSeen += 1
            }
            if let before {
                // Random and truncated bytes never decode into a write.
                #expect(a.stateDigest == before, "round \(round)")
            }
        }
        #expect(malformedSeen > 1_500)
        #expect(a.stateDigest == b.stateDigest)
    }
}
