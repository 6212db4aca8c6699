// Cluster write throughput through one gateway: 4 nodes in this process (in-process transport,
// PBFT ordering, fsynced logs, SQLite shards with synchronous=FULL), single-row and batched
// inserts from concurrent writers, with p50/p99 latency; beside raw SQLite doing the same
// inserts (one transaction per request) in the same run.
// Run: make bench-cluster   (release build; prints a Markdown table for docs/BENCHMARKS.md)
import CSQLite
import Foundation
import MeshDB

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

struct Result {
    let name: String
    let rowsPerSecond: Double
    let p50Milliseconds: Double
    let p99Milliseconds: Double
    let detail: String
}

let environment = ProcessInfo.processInfo.environment
let requestsPerWriter = Int(environment["MESHDB_BENCH_REQUESTS"] ?? "100") ?? 100
let writers = Int(environment["MESHDB_BENCH_WRITERS"] ?? "16") ?? 16
let scratch = NSTemporaryDirectory() + "meshdb-clusterbench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: scratch) }

// The raw-SQLite baseline writes its files under `scratch` too, so the cluster does not own it.
var clusterOptions = LocalCluster.Options(nodes: 4)
clusterOptions.directory = scratch
clusterOptions.basePort = Int(environment["MESHDB_BENCH_BASE_PORT"] ?? "27400") ?? 27400
clusterOptions.waitsForEveryNode = false
let cluster = try await LocalCluster.start(clusterOptions)
let gateway = cluster.gateway
let spec = CatalogTableSpec(
    name: "events",
    columns: [.init(name: "id", type: .integer, notNull: true), .init(name: "account", type: .integer),
              .init(name: "amount", type: .real), .init(name: "memo", type: .text)],
    primaryKey: ["id"], shardKey: ["id"], shardCount: 4)
try await gateway.createTable(spec)

func row(_ id: Int) -> [SQLiteValue] {
    [.integer(Int64(id)), .integer(Int64(id % 1000)), .real(Double(id) * 0.25), .text("transfer \(id)")]
}

/// `writers` tasks, each sending `requestsPerWriter` inserts of `rowsPerRequest` rows.
func measureCluster(rowsPerRequest: Int, firstID: Int) async throws -> Result {
    let clock = ContinuousClock()
    let started = clock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for writer in 0..<writers {
            group.addTask {
                var mine: [Double] = []
                for request in 0..<requestsPerWriter {
                    let base = firstID + (writer * requestsPerWriter + request) * rowsPerRequest
                    let rows = (0..<rowsPerRequest).map { row(base + $0) }
                    let start = clock.now
                    try await gateway.insert(into: "events", rows: rows)
                    mine.append(seconds(clock.now - start) * 1000)
                }
                return mine
            }
        }
        var all: [Double] = []
        for try await part in group { all += part }
        return all.sorted()
    }
    let elapsed = seconds(clock.now - started)
    let rows = writers * requestsPerWriter * rowsPerRequest
    return Result(name: "MeshDB, 4 nodes, \(rowsPerRequest) row\(rowsPerRequest == 1 ? "" : "s") per insert",
                  rowsPerSecond: Double(rows) / elapsed, p50Milliseconds: percentile(latencies, 0.5),
                  p99Milliseconds: percentile(latencies, 0.99),
                  detail: "\(writers) concurrent writers, \(writers * requestsPerWriter) inserts, PBFT f=1, fsync")
}

/// Raw SQLite: one connection, one transaction per request, same rows and pragmas, one writer
/// (SQLite serializes writers anyway).
func measureSQLite(rowsPerRequest: Int) -> Result {
    var db: OpaquePointer?
    precondition(sqlite3_open(scratch + "/raw-\(rowsPerRequest).db", &db) == SQLITE_OK)
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE events (id INTEGER PRIMARY KEY, account INTEGER, amount REAL, memo TEXT)", nil, nil, nil)
    var statement: OpaquePointer?
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1, ?2, ?3, ?4)", -1, &statement, nil)
    let clock = ContinuousClock()
    var latencies: [Double] = []
    let requests = writers * requestsPerWriter
    let started = clock.now
    for request in 0..<requests {
        let start = clock.now
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        for k in 0..<rowsPerRequest {
            let id = request * rowsPerRequest + k
            sqlite3_bind_int64(statement, 1, Int64(id))
            sqlite3_bind_int64(statement, 2, Int64(id % 1000))
            sqlite3_bind_double(statement, 3, Double(id) * 0.25)
            sqlite3_bind_text(statement, 4, "transfer \(id)", -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            precondition(sqlite3_step(statement) == SQLITE_DONE)
            sqlite3_reset(statement)
        }
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
        latencies.append(seconds(clock.now - start) * 1000)
    }
    let elapsed = seconds(clock.now - started)
    sqlite3_finalize(statement)
    sqlite3_close(db)
    latencies.sort()
    return Result(name: "raw SQLite, \(rowsPerRequest) row\(rowsPerRequest == 1 ? "" : "s") per transaction",
                  rowsPerSecond: Double(requests * rowsPerRequest) / elapsed, p50Milliseconds: percentile(latencies, 0.5),
                  p99Milliseconds: percentile(latencies, 0.99), detail: "baseline: 1 connection, WAL, synchronous=FULL, \(requests) transactions")
}

var results: [Result] = []
results.append(try await measureCluster(rowsPerRequest: 1, firstID: 0))
results.append(measureSQLite(rowsPerRequest: 1))
results.append(try await measureCluster(rowsPerRequest: 100, firstID: 10_000_000))
results.append(measureSQLite(rowsPerRequest: 100))
await cluster.stop()

print("| workload | rows/s | p50 ms | p99 ms | notes |")
print("|---|---:|---:|---:|---|")
for result in results {
    print(String(format: "| %@ | %.0f | %.2f | %.2f | %@ |", result.name, result.rowsPerSecond, result.p50Milliseconds, result.p99Milliseconds, result.detail))
}
let single = results[0].rowsPerSecond / results[1].rowsPerSecond
let batched = results[2].rowsPerSecond / results[3].rowsPerSecond
print(String(format: "\nMeshDB / raw SQLite: %.2fx single-row, %.2fx batched", single, batched))
