import Consensus
import Foundation
import Testing

@testable import MeshDB

/// Checkpoints and state transfer of the shard state machine (OSDI'99 §4.3, TOCS'02 §5.3).
@Suite struct ShardSnapshotTests {
    typealias T = ShardStateMachineTests
    static let orders = try! ShardID(table: "orders", shard: 0)

    /// Two shards with a few rows, a deleted row and an index, so the files have some history.
    static func populated(_ directory: TemporaryDirectory, _ name: String) throws -> ShardStateMachine {
        let machine = try T.machine(directory, name)
        let results = T.run(machine, [
            .createShard(T.users, ddl: T.ddl + ["CREATE INDEX users_by_name ON users (name)"]),
            .createShard(orders, ddl: ["CREATE TABLE orders (id INTEGER PRIMARY KEY, body BLOB)"]),
            .write(T.users, statements: (1...50).map { T.insert($0, "user \($0)") }),
            .write(orders, statements: [ShardStore.Statement("INSERT INTO orders VALUES (1, ?1)", [.blob(Array(repeating: 7, count: 3000))])]),
            .write(T.users, statements: [ShardStore.Statement("DELETE FROM users WHERE id % 7 = 0")]),
        ])
        #expect(results.allSatisfy { if case .ok = $0 { true } else { false } }, "\(results)")
        return machine
    }

    @Test func snapshotRestoresIntoAFreshMachineWithEqualDigestAndRows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try Self.populated(directory, "source")
        let snapshot = source.snapshot()
        #expect(snapshot == source.snapshot(), "a snapshot is deterministic for a given state")
        let target = try T.machine(directory, "target")
        try target.restore(from: snapshot)
        #expect(target.shardIDs == [Self.orders, T.users])
        #expect(target.stateDigest == source.stateDigest)
        #expect(T.run(target, [T.selectAll]) == T.run(source, [T.selectAll]))
        // The restored replica keeps producing the same results and checkpoints as the others.
        let next: [ShardOperation] = [.write(T.users, statements: [T.insert(100, "new")]), T.selectAll]
        #expect(T.run(target, next) == T.run(source, next))
        #expect(target.stateDigest == source.stateDigest)
        #expect(target.snapshot() == source.snapshot())
    }

    @Test func restoreReplacesShardsTheSnapshotDoesNotHold() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let empty = try T.machine(directory, "empty")
        let target = try Self.populated(directory, "target")
        try target.restore(from: empty.snapshot())
        #expect(target.shardIDs.isEmpty)
        #expect(target.stateDigest == empty.stateDigest)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("target")).isEmpty)
    }

    @Test func aCorruptSnapshotIsRefusedAndTheStateIsUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try Self.populated(directory, "source")
        let target = try T.machine(directory, "target")
        _ = T.run(target, [.createShard(T.users, ddl: T.ddl), .write(T.users, statements: [T.insert(1, "kept")])])
        let before = target.stateDigest
        let good = source.snapshot()
        var corruptions: [[UInt8]] = [[], Array(good.prefix(good.count / 2)), good + [0], Array("MSHS".utf8) + [9]]
        // Damaged database files inside a well-framed snapshot.
        let entries = try ShardStateMachine.decodeSnapshot(good).entries
        let pageBytes = 4096
        for (victim, damage) in [(0, "truncated"), (1, "schema page"), (1, "table page")] {
            var files = entries
            var file = files[victim].file
            #expect(file.count >= 2 * pageBytes)
            switch damage {
            case "truncated": file = Array(file.prefix(file.count / 2 + 17))
            case "schema page": for offset in 100..<pageBytes { file[offset] = UInt8(truncatingIfNeeded: offset * 31) }
            default: for offset in pageBytes..<(2 * pageBytes) { file[offset] = UInt8(truncatingIfNeeded: offset * 17) }
            }
            files[victim].file = file
            corruptions.append(Self.encode(files))
        }
        // A name that would escape the directory, framed correctly.
        var escaping = good
        if let at = findBytes(Array("orders".utf8), in: good) {
            escaping.replaceSubrange(at..<(at + 6), with: Array("../../".utf8))
        }
        corruptions.append(escaping)
        // Shards out of order or repeated: one state must have one encoding.
        corruptions.append(Self.encode(entries.reversed()))
        corruptions.append(Self.encode([entries[0], entries[0]]))
        // Flipped bits in the framing: magic, version, shard count.
        var random = SeededBytes(seed: 4)
        for _ in 0..<40 {
            var flipped = good
            flipped[Int(random.next() % 9)] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            corruptions.append(flipped)
        }
        for (index, corrupt) in corruptions.enumerated() where corrupt != good {
            #expect(throws: StateMachineError.self, "corruption \(index)") { try target.restore(from: corrupt) }
            #expect(target.shardIDs == [T.users])
            #expect(target.stateDigest == before)
        }
        #expect(T.rows(T.run(target, [T.selectAll])[0]) == [[1, "kept"]])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("target")).filter { !$0.hasPrefix("users.3.db") } == [])
    }

    /// The snapshot framing, written independently of the code under test.
    static func encode(_ entries: [(id: ShardID, file: [UInt8])]) -> [UInt8] {
        var w = ByteWriter()
        w.writeRaw(Array("MSHS".utf8))
        w.write(ShardStateMachine.snapshotFormatVersion)
        w.write(UInt32(entries.count))
        for entry in entries {
            w.writeBytes(Array(entry.id.table.utf8))
            w.write(entry.id.shard)
            w.writeBytes(entry.file)
        }
        w.writeBytes(ShardTransactionTable().encoded())
        return w.bytes
    }

    func findBytes(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}

extension ShardSnapshotTests {
    /// PBFT digests the snapshot bytes themselves for checkpoints (Replica+Checkpoint), so a
    /// replica that restarted midway (closing and reopening its files, which checkpoints SQLite's
    /// WAL) must still produce the same bytes as one that never stopped.
    @Test func aRestartedReplicaProducesTheSameSnapshotBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first: [ShardOperation] = [
            .createShard(T.users, ddl: T.ddl),
            .write(T.users, statements: (1...300).map { T.insert($0, String(repeating: "x", count: Int($0 % 50)) + "\($0)") }),
        ]
        let second: [ShardOperation] = [
            .write(T.users, statements: [ShardStore.Statement("DELETE FROM users WHERE id % 3 = 0")]),
            .write(T.users, statements: (301...400).map { T.insert($0, "late \($0)") }),
        ]
        let steady = try T.machine(directory, "steady")
        _ = T.run(steady, first)
        do {
            let restarting = try T.machine(directory, "restarting")
            _ = T.run(restarting, first)
        }
        let restarted = try T.machine(directory, "restarting")
        _ = T.run(steady, second)
        _ = T.run(restarted, second)
        #expect(restarted.stateDigest == steady.stateDigest)
        #expect(restarted.snapshot() == steady.snapshot())
    }
}
