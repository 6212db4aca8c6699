// Storage micro-benchmarks, with their baselines measured in the same run on the same machine:
//   chunk store put/get MB/s (random and compressible data) beside `lz4 -b1` on the same bytes;
//   shard store apply rows/s for batches of 1, 100 and 10,000 rows beside a raw SQLite bulk insert.
//   message codecs: PBFT pre-prepares (a batch of 16 requests) and PostgreSQL protocol messages
//   (Bind in, DataRow out), encoded and decoded per second.
// Run: make bench-micro   (release build; prints a Markdown table for docs/BENCHMARKS.md)
import Consensus
import CSQLite
import Foundation
import MeshDB
import MeshWire

struct Measurement {
    let name: String
    let value: Double
    let unit: String
    let detail: String
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for index in words.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            words[index] = state
        }
    }
    return out
}

/// Text-like data: words drawn from a small vocabulary, which LZ4 compresses about 3-5x.
func compressibleBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    let words = ["mesh", "shard", "replica", "chunk", "commit", "view", "primary", "backup", "digest", "node",
                 "0x1f", "2026", "blob", "row", "table", "query"].map { Array($0.utf8) }
    var state = seed | 1
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    while out.count < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out += words[Int(state % UInt64(words.count))]
        out.append(state & 0x30 == 0 ? 10 : 32)
    }
    return Array(out.prefix(count))
}

let scratch = NSTemporaryDirectory() + "meshdb-microbench-\(getpid())"
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }

let chunkBytes = 1 << 20
let chunkCount = Int(ProcessInfo.processInfo.environment["MESHDB_BENCH_CHUNKS"] ?? "128") ?? 128
var results: [Measurement] = []

// MARK: Chunk store

for (kind, make) in [("random", randomBytes), ("compressible", compressibleBytes)] as [(String, (Int, UInt64) -> [UInt8])] {
    let chunks = (0..<chunkCount).map { make(chunkBytes, UInt64($0) + 1) }
    let store = try ChunkStore(directory: scratch + "/chunks-\(kind)")
    let totalMB = Double(chunkCount * chunkBytes) / 1e6
    let putSeconds = try seconds { for chunk in chunks { try store.put(chunk) } }
    let ids = chunks.map { ChunkID(of: $0) }
    let getSeconds = try seconds { for id in ids { _ = try store.get(id) } }
    let stats = store.currentStats
    let ratio = Double(stats.logicalBytes) / Double(stats.storedBytes)
    results.append(.init(name: "chunk put, \(kind), 1 MiB chunks", value: totalMB / putSeconds, unit: "MB/s",
                         detail: "\(chunkCount) chunks, fsync each, stored \(String(format: "%.2f", ratio))x smaller"))
    results.append(.init(name: "chunk get, \(kind), 1 MiB chunks", value: totalMB / getSeconds, unit: "MB/s",
                         detail: "SHA-256 verified on every read"))
    // The same bytes through the lz4 command-line benchmark (level 1, in memory, no disk, no hash).
    let sample = scratch + "/lz4-sample-\(kind)"
    try Data(chunks.prefix(64).flatMap { $0 }).write(to: URL(fileURLWithPath: sample))
    let lz4 = Process()
    lz4.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
    lz4.arguments = ["-b1", "-i2", sample]
    let pipe = Pipe()
    lz4.standardOutput = pipe
    lz4.standardError = pipe
    if (try? lz4.run()) != nil {
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        lz4.waitUntilExit()
        // Progress is redrawn with \r; the last segment with speeds reads like
        // "1#lz4-sample-... : 67108864 -> 2536512 (26.46), 1234.5 MB/s , 4567.8 MB/s".
        let line = output.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last(where: { $0.contains("->") }).map(String.init) ?? output
        let speeds = line.components(separatedBy: ",").dropFirst().compactMap { Double($0.replacingOccurrences(of: "MB/s", with: "").trimmingCharacters(in: .whitespaces)) }
        if speeds.count == 2 {
            results.append(.init(name: "lz4 -b1 compress, \(kind)", value: speeds[0], unit: "MB/s", detail: "baseline: in memory, no disk, no hash"))
            results.append(.init(name: "lz4 -b1 decompress, \(kind)", value: speeds[1], unit: "MB/s", detail: "baseline: in memory, no disk, no hash"))
        } else {
            results.append(.init(name: "lz4 -b1, \(kind)", value: 0, unit: "", detail: "unparsed output: \(line)"))
        }
    } else {
        results.append(.init(name: "lz4 -b1, \(kind)", value: 0, unit: "", detail: "lz4 not installed (apt-get install lz4)"))
    }
}

// MARK: Shard store

let insertSQL = "INSERT INTO events (id, account, amount, memo) VALUES (?1, ?2, ?3, ?4)"
let schemaSQL = "CREATE TABLE events (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount REAL, memo TEXT)"

func eventRow(_ id: Int) -> [SQLiteValue] {
    [.integer(Int64(id)), .integer(Int64(id % 1000)), .real(Double(id) * 0.25), .text("transfer \(id)")]
}

for (batchRows, batches) in [(1, 300), (100, 100), (10_000, 10)] {
    let store = try ShardStore(path: scratch + "/shard-\(batchRows).db")
    try store.apply([.init(schemaSQL)])
    var next = 0
    let prepared = (0..<batches).map { _ in
        (0..<batchRows).map { _ -> ShardStore.Statement in
            next += 1
            return .init(insertSQL, eventRow(next))
        }
    }
    let elapsed = try seconds { for batch in prepared { try store.apply(batch) } }
    results.append(.init(name: "shard apply, batch of \(batchRows)", value: Double(batchRows * batches) / elapsed, unit: "rows/s",
                         detail: "\(batches) batches, one transaction each, synchronous=FULL"))
    store.close()
}

// Raw SQLite: one connection, one prepared statement, one transaction, same pragmas and rows.
do {
    var db: OpaquePointer?
    let rows = 100_000
    precondition(sqlite3_open(scratch + "/raw.db", &db) == SQLITE_OK)
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + schemaSQL, nil, nil, nil)
    var statement: OpaquePointer?
    sqlite3_prepare_v2(db, insertSQL, -1, &statement, nil)
    let elapsed = seconds {
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        for id in 1...rows {
            sqlite3_bind_int64(statement, 1, Int64(id))
            sqlite3_bind_int64(statement, 2, Int64(id % 1000))
            sqlite3_bind_double(statement, 3, Double(id) * 0.25)
            let memo = "transfer \(id)"
            sqlite3_bind_text(statement, 4, memo, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            precondition(sqlite3_step(statement) == SQLITE_DONE)
            sqlite3_reset(statement)
        }
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
    }
    sqlite3_finalize(statement)
    sqlite3_close(db)
    results.append(.init(name: "raw SQLite bulk insert", value: Double(rows) / elapsed, unit: "rows/s",
                         detail: "baseline: C API, \(rows) rows in one transaction, WAL, synchronous=FULL"))
}

// MARK: Message codecs

/// Runs `body` `count` times and records operations per second.
@MainActor
func measureCodec(_ name: String, count: Int, detail: String, _ body: () throws -> Void) rethrows {
    let elapsed = try seconds { for _ in 0..<count { try body() } }
    results.append(.init(name: name, value: Double(count) / elapsed, unit: "msgs/s", detail: detail))
}

do {
    let codec = MessageCodec(replicaCount: 4)
    let batch = (0..<16).map { Request(client: UInt64($0), timestamp: 1, operation: randomBytes(100, seed: UInt64($0) + 7)) }
    let prePrepare = Message.prePrepare(PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch))
    let encoded = codec.encode(prePrepare)
    measureCodec("PBFT pre-prepare encode", count: 200_000, detail: "16 requests of 100 bytes, \(encoded.count) bytes") {
        precondition(!codec.encode(prePrepare).isEmpty)
    }
    try measureCodec("PBFT pre-prepare decode", count: 200_000, detail: "the same bytes; request digests recomputed") {
        _ = try codec.decode(encoded)
    }

    let bind = FrontendMessage.bind(.init(portal: "", statement: "s1", parameterFormats: [1, 0],
                                          parameters: [[0, 0, 0, 0, 0, 0, 0, 42], Array("transfer 42".utf8)], resultFormats: [0]))
    let bindBytes = bind.encoded
    try measureCodec("PostgreSQL Bind decode", count: 500_000, detail: "frame reader + decode, 2 parameters, \(bindBytes.count) bytes") {
        var reader = FrontendFrameReader()
        reader.startupCompleted()
        reader.append(bindBytes)
        guard let frame = try reader.next() else { preconditionFailure("a whole Bind was appended") }
        _ = try FrontendMessage.decode(frame)
    }
    let row = BackendMessage.dataRow([Array("42".utf8), Array("alice".utf8), Array("1234.50".utf8), nil, Array("2026-11-21 20:00:00".utf8)])
    measureCodec("PostgreSQL DataRow encode", count: 1_000_000, detail: "5 text columns, one NULL") {
        var buffer: [UInt8] = []
        row.encode(into: &buffer)
        precondition(!buffer.isEmpty)
    }
}

print("| benchmark | result | notes |")
print("|---|---:|---|")
for result in results {
    let value = result.value >= 100 ? String(format: "%.0f", result.value) : String(format: "%.1f", result.value)
    print("| \(result.name) | \(value) \(result.unit) | \(result.detail) |")
}
