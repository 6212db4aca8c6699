// A child process for the storage crash tests: it writes forever until the test kills it with
// SIGKILL, so the test can check what a crash at an arbitrary instant leaves on disk.
//
//   meshdb-crash-harness shard-batches DB ROWS_PER_BATCH   batches of ROWS rows, one transaction each
//   meshdb-crash-harness chunk-writes DIR CHUNK_BYTES      distinct chunks of CHUNK_BYTES bytes
//
// After each write returns (durable), it prints "ack <batch>" or "ack <chunk id>"; after the first
// one also "ready", so the test kills it while it is busy and then checks every ack survived.
import Foundation
import MeshDB
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("meshdb-crash-harness: \(message)\n".utf8))
    exit(2)
}

func acknowledge(_ what: String, first: Bool) {
    print("ack \(what)")
    if first { print("ready") }
    fflush(nil)  // all streams: stdout is a pipe, so it is block-buffered
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let size = Int(arguments[3]), size > 0 else {
    fail("usage: meshdb-crash-harness shard-batches DB ROWS | chunk-writes DIR BYTES")
}

switch arguments[1] {
case "shard-batches":
    do {
        let store = try ShardStore(path: arguments[2])
        try store.apply([.init("CREATE TABLE IF NOT EXISTS rows (batch INTEGER, n INTEGER, payload TEXT, PRIMARY KEY (batch, n))")])
        let last = try store.query("SELECT coalesce(max(batch), 0) FROM rows").rows[0][0]
        guard case .integer(var batch) = last else { fail("unexpected max(batch) \(last)") }
        var announced = false
        while true {
            batch += 1
            let statements = (0..<size).map { n in
                ShardStore.Statement("INSERT INTO rows VALUES (?1, ?2, ?3)", [.integer(batch), .integer(Int64(n)), .text("row \(n) of batch \(batch)")])
            }
            try store.apply(statements)
            acknowledge(String(batch), first: !announced)
            announced = true
        }
    } catch {
        fail("\(error)")
    }
case "chunk-writes":
    do {
        let store = try ChunkStore(directory: arguments[2])
        var counter: UInt64 = 0
        var announced = false
        while true {
            counter += 1
            // Distinct, incompressible-ish content per chunk: an xorshift stream seeded by the counter and pid.
            var state = counter &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(getpid())
            let bytes = (0..<size).map { _ -> UInt8 in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            }
            let id = try store.put(bytes).id
            acknowledge(id.hex, first: !announced)
            announced = true
        }
    } catch {
        fail("\(error)")
    }
default:
    fail("unknown mode \(arguments[1])")
}
