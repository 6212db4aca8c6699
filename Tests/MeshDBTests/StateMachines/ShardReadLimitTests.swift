import Consensus
import Foundation
import Testing

@testable import MeshDB

/// `local` and `verified` reads (`localQuery`) bypass PBFT's 64 KiB replies: they are bounded by
/// `readResultBytesMax` instead, counted as encoded, while SQLite produces the rows.
@Suite struct ShardReadLimitTests {
    typealias Base = ShardStateMachineTests

    static func machine(_ directory: TemporaryDirectory, readResultBytesMax: Int = ShardStateMachine.readResultBytesMaxDefault) throws -> ShardStateMachine {
        let machine = try ShardStateMachine(directory: directory.file("replica"), durability: .os, readResultBytesMax: readResultBytesMax)
        _ = Base.run(machine, [.createShard(Base.users, ddl: Base.ddl)])
        return machine
    }

    /// The size a result is bounded by is exactly the size of its encoding: one byte more than
    /// the limit fails, the limit itself passes.
    @Test func theLimitIsTheEncodedSizeToTheByte() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let blob = "SELECT zeroblob(1000) AS b"
        let size = ShardResult.ok([ShardStore.StatementResult(rowsChanged: 0, columns: ["b"], rows: [[.blob([UInt8](repeating: 0, count: 1_000))]])]).encoded().count
        let exact = try Self.machine(directory, readResultBytesMax: size)
        guard case .ok(let results) = exact.localQuery(Base.users, blob) else {
            Issue.record("a result of exactly read_result_bytes_max was refused")
            return
        }
        #expect(ShardResult.encodedByteCount(of: results) == size)
        #expect(ShardResult.ok(results).encoded().count == size)
        let smaller = try ShardStateMachine(directory: directory.file("smaller"), durability: .os, readResultBytesMax: size - 1)
        _ = Base.run(smaller, [.createShard(Base.users, ddl: Base.ddl)])
        let refused = Base.failure(smaller.localQuery(Base.users, blob))
        #expect(refused?.sqliteExtendedCode == 18)
        #expect(refused?.message == "result of \(size) bytes exceeds read_result_bytes_max = \(size - 1) bytes")
        #expect(GatewayError(refused!).sqlState == "54000")
    }

    /// A few MiB over many rows, far above the 64 KiB of a PBFT reply and the 65,536 rows that
    /// bound a PBFT read, is served; a result over 16 MiB stops inside SQLite with its limit
    /// named, before it is buffered whole.
    @Test func aFewMiBAreServedAndMoreThanTheLimitIsRefusedNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let machine = try Self.machine(directory)
        let names = (1...300).map { Base.insert(Int64($0), String(repeating: "m", count: 100) + "\($0)") }
        #expect(Base.failure(Base.run(machine, [.write(Base.users, statements: names)])[0]) == nil)
        // 300 × 300 = 90,000 rows of about 110 bytes: about 10 MB.
        let pairs = "SELECT a.name, b.id FROM users a, users b"
        guard case .ok(let results) = machine.localQuery(Base.users, pairs) else {
            Issue.record("a 10 MB read was refused: \(machine.localQuery(Base.users, pairs))")
            return
        }
        #expect(results[0].rows.count == 90_000)
        #expect((4 << 20..<ShardStateMachine.readResultBytesMaxDefault).contains(ShardResult.encodedByteCount(of: results)))
        // The same read through PBFT is bounded by the reply.
        #expect(Base.failure(Base.run(machine, [.read(Base.users, sql: pairs, parameters: [])])[0]) != nil)
        // 27,000,000 rows: refused after the first 16 MiB.
        let triples = Base.failure(machine.localQuery(Base.users, "SELECT a.name, b.id, c.id FROM users a, users b, users c"))
        #expect(triples?.sqliteExtendedCode == 18)
        #expect(triples?.message == "result exceeds read_result_bytes_max = \(16 << 20) bytes")
    }
}
