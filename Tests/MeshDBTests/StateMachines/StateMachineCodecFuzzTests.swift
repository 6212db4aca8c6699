import Consensus
import Foundation
import Testing

@testable import MeshDB

/// Replies come back from replicas that may be faulty, and snapshots from peers: decoders of
/// both must refuse anything malformed with an error and never trap.
@Suite struct StateMachineCodecFuzzTests {
    static func mutations(of valid: [[UInt8]], seed: UInt64, count: Int) -> [[UInt8]] {
        var random = SeededBytes(seed: seed)
        return (0..<count).map { round in
            let source = valid[Int(random.next() % UInt64(valid.count))]
            switch round % 3 {
            case 0: return random.bytes(Int(random.next() % 96))
            case 1: return Array(source.prefix(Int(random.next() % UInt64(source.count))))
            default:
                var bytes = source
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                return bytes
            }
        }
    }

    @Test func shardResultDecodingNeverTraps() {
        let valid = [
            ShardResult.ok([ShardStore.StatementResult(rowsChanged: 3, columns: ["a", "b"], rows: [[1, "x"], [.blob([1]), 2.5]])]).encoded(),
            ShardResult.failure(ShardFailure(.sqlite, sqliteExtendedCode: 2067, message: "UNIQUE", statementIndex: 2)).encoded(),
        ]
        var decoded = 0
        for bytes in Self.mutations(of: valid, seed: 1, count: 3_000) {
            if let result = try? ShardResult(decoding: bytes) {
                decoded += 1
                #expect(result.encoded() == bytes, "a decoded reply has exactly one encoding")
            }
        }
        #expect(decoded < 3_000)
        var indexWithoutStatement = ShardResult.failure(ShardFailure(.shardNotFound, message: "x")).encoded()
        indexWithoutStatement[indexWithoutStatement.count - 1] = 1
        #expect(throws: DecodeError.self) { try ShardResult(decoding: indexWithoutStatement) }
    }

    @Test func catalogResultDecodingNeverTraps() {
        let results = [CatalogResult.ok("CREATE TABLE"), .error(.duplicateTable("users")), .skipped("DROP VIEW", notice: "gone"),
                       .rowIDs(first: 4_097)]
        for bytes in Self.mutations(of: results.map { $0.encoded() }, seed: 2, count: 3_000) {
            if let result = try? CatalogResult(decoding: bytes) {
                #expect(result.encoded() == bytes)
            }
        }
        let replies = results.map { CatalogReply(result: $0, version: 7).encoded() }
        for bytes in Self.mutations(of: replies, seed: 4, count: 3_000) {
            if let reply = try? CatalogReply(decoding: bytes) {
                #expect(reply.encoded() == bytes)
            }
        }
    }

    @Test func shardSnapshotRestoreRefusesRandomBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try ShardStateMachineTests.machine(directory)
        _ = ShardStateMachineTests.run(machine, [.createShard(ShardStateMachineTests.users, ddl: ShardStateMachineTests.ddl)])
        let before = machine.stateDigest
        let framing = Array("MSHS".utf8) + [1]
        var random = SeededBytes(seed: 3)
        for round in 0..<500 {
            let bytes = (round % 2 == 0 ? framing : []) + random.bytes(Int(random.next() % 200))
            #expect(throws: StateMachineError.self) { try machine.restore(from: bytes) }
        }
        #expect(machine.stateDigest == before)
    }

    @Test func onlyShardFilesAreOpenedFromTheDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(ShardID(fileName: "users.3.db") == (try ShardID(table: "users", shard: 3)))
        for name in ["users.03.db", "users.3.db-wal", "users.db", "Users.3.db", ".staging", "users.300.db", "users.-1.db", "a.b.1.db"] {
            #expect(ShardID(fileName: name) == nil, "\(name)")
        }
        let path = directory.file("replica")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("not a shard".utf8).write(to: URL(fileURLWithPath: (path as NSString).appendingPathComponent("notes.txt")))
        let machine = try ShardStateMachine(directory: path, durability: .os)
        #expect(machine.shardIDs.isEmpty)
    }
}
