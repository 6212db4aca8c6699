// The SQL layer's costs, each beside SQLite doing the same work in the same run:
// - parse + plan of a point select and of a 3-way join (µs per statement), against SQLite's
//   sqlite3_prepare_v2 of the same text (SQLite's parse + plan);
// - scatter-gather aggregates over a 4-node in-process cluster (8 shards, PBFT-replicated SQLite
//   shards), in rows scanned per second, against one SQLite database holding the same rows.
// Run: make bench-sql   (release build; prints Markdown tables for docs/BENCHMARKS.md)
import CSQLite
import Foundation
import MeshDB
import QueryPlanner

let environment = ProcessInfo.processInfo.environment
let planIterations = Int(environment["MESHDB_BENCH_PLANS"] ?? "20000") ?? 20_000
let aggregateRows = Int(environment["MESHDB_BENCH_ROWS"] ?? "200000") ?? 200_000
let aggregateRuns = Int(environment["MESHDB_BENCH_RUNS"] ?? "10") ?? 10

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    return seconds(clock.now - start)
}

struct Failure: Error, CustomStringConvertible {
    let description: String
}

// MARK: Parse + plan

/// The three tables of the planning benchmark, as the catalog would describe them.
struct BenchCatalog: PlannerCatalog {
    static func column(_ name: String, _ type: String) -> PlannerColumn {
        PlannerColumn(name: name, declaredType: type, sqliteType: type, isBlob: false, notNull: false)
    }

    let tables: [String: PlannerTable] = [
        "accounts": PlannerTable(name: "accounts", columns: [column("id", "INTEGER"), column("owner", "TEXT"), column("region", "TEXT"),
                                                             column("balance", "REAL")],
                                 primaryKey: ["id"], shardKey: ["id"], shardCount: 8),
        "orders": PlannerTable(name: "orders", columns: [column("id", "INTEGER"), column("account_id", "INTEGER"),
                                                         column("product_id", "INTEGER"), column("quantity", "INTEGER")],
                               primaryKey: ["id"], shardKey: ["id"], shardCount: 8),
        "products": PlannerTable(name: "products", columns: [column("id", "INTEGER"), column("name", "TEXT"), column("price", "REAL")],
                                 primaryKey: ["id"], shardKey: ["id"], shardCount: 8),
    ]

    func table(named name: String) -> PlannerTable? { tables[name] }
    func view(named name: String) -> PlannerView? { nil }
    func shard(of table: PlannerTable, key: [PlannerValue]) -> Int {
        Int(ShardRouting.shard(forKey: key.map(SQLiteValue.init), shardCount: UInt32(table.shardCount)))
    }
}

let schema = """
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT, region TEXT, balance REAL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, account_id INTEGER, product_id INTEGER, quantity INTEGER);
    CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL);
    """
let planStatements: [(name: String, sql: String)] = [
    ("point select", "SELECT owner, balance FROM accounts WHERE id = 42"),
    ("3-way join", """
        SELECT a.owner, p.name, sum(o.quantity * p.price) AS spent FROM accounts AS a \
        JOIN orders AS o ON o.account_id = a.id JOIN products AS p ON p.id = o.product_id \
        WHERE a.region = 'eu' AND o.quantity > 1 GROUP BY a.owner, p.name ORDER BY spent DESC LIMIT 10
        """),
]

func meshPlanMicroseconds(_ sql: String) throws -> (micros: Double, strategy: String) {
    let planner = SelectPlanner(catalog: BenchCatalog())
    var strategy = ""
    // Warm-up, and the plan's strategy for the table.
    if case .select(let select) = try Parser.parseStatement(sql) { strategy = try planner.plan(select).strategy.rawValue }
    let elapsed = try time {
        for _ in 0..<planIterations {
            guard case .select(let select) = try Parser.parseStatement(sql) else { throw Failure(description: "not a SELECT: \(sql)") }
            _ = try planner.plan(select)
        }
    }
    return (elapsed / Double(planIterations) * 1e6, strategy)
}

func openSQLite(_ path: String) throws -> OpaquePointer {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw Failure(description: "cannot open \(path)") }
    return db
}

func exec(_ db: OpaquePointer, _ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
        let text = message.map { String(cString: $0) } ?? "error"
        sqlite3_free(message)
        throw Failure(description: "\(text) in \(sql.prefix(80))")
    }
}

func sqlitePrepareMicroseconds(_ sql: String) throws -> Double {
    let db = try openSQLite(":memory:")
    defer { sqlite3_close(db) }
    try exec(db, schema)
    let elapsed = try time {
        for _ in 0..<planIterations {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw Failure(description: "prepare failed: \(sql)") }
            sqlite3_finalize(statement)
        }
    }
    return elapsed / Double(planIterations) * 1e6
}

print("## Parse + plan (\(planIterations) statements each)\n")
print("| statement | MeshDB parse + plan µs | SQLite prepare µs | MeshDB / SQLite | MeshDB strategy |")
print("|---|---:|---:|---:|---|")
for (name, sql) in planStatements {
    let mesh = try meshPlanMicroseconds(sql)
    let sqlite = try sqlitePrepareMicroseconds(sql)
    print("| \(name) | \(String(format: "%.1f", mesh.micros)) | \(String(format: "%.1f", sqlite)) | \(String(format: "%.2fx", mesh.micros / sqlite)) | \(mesh.strategy) |")
}

// MARK: Scatter-gather aggregates

let scratch = NSTemporaryDirectory() + "meshdb-sqlbench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: scratch) }
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

let regions = ["eu", "us", "ap", "sa", "af"]
func sale(_ id: Int) -> [SQLiteValue] {
    [.integer(Int64(id)), .text(regions[id % regions.count]), .real(Double(id % 997) * 0.5), .integer(Int64(id % 13))]
}

var clusterOptions = LocalCluster.Options(nodes: 4)
clusterOptions.directory = scratch + "/cluster"
clusterOptions.basePort = Int(environment["MESHDB_BENCH_BASE_PORT"] ?? "27500") ?? 27500
clusterOptions.waitsForEveryNode = false
let cluster = try await LocalCluster.start(clusterOptions)
let session = SQLSession(gateway: cluster.gateway)
_ = try await session.execute("CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL, quantity INTEGER) SHARDS 8")
let loadStarted = ContinuousClock.now
for start in stride(from: 0, to: aggregateRows, by: 10_000) {
    _ = try await cluster.gateway.insert(into: "sales", rows: (start..<min(start + 10_000, aggregateRows)).map(sale))
}
let loadSeconds = seconds(ContinuousClock.now - loadStarted)
print("\nLoaded \(aggregateRows) rows into 8 shards in \(String(format: "%.1f", loadSeconds)) s.\n")

let baseline = try openSQLite(scratch + "/baseline.db")
defer { sqlite3_close(baseline) }
try exec(baseline, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL, quantity INTEGER)")
try exec(baseline, "BEGIN")
var insert: OpaquePointer?
guard sqlite3_prepare_v2(baseline, "INSERT INTO sales VALUES (?1, ?2, ?3, ?4)", -1, &insert, nil) == SQLITE_OK else { throw Failure(description: "prepare insert") }
let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
for id in 0..<aggregateRows {
    sqlite3_bind_int64(insert, 1, Int64(id))
    sqlite3_bind_text(insert, 2, regions[id % regions.count], -1, transient)
    sqlite3_bind_double(insert, 3, Double(id % 997) * 0.5)
    sqlite3_bind_int64(insert, 4, Int64(id % 13))
    guard sqlite3_step(insert) == SQLITE_DONE else { throw Failure(description: "insert failed") }
    sqlite3_reset(insert)
}
sqlite3_finalize(insert)
try exec(baseline, "COMMIT")

/// Runs `sql` on the baseline and returns its rows as text, to check both sides agree.
func sqliteRows(_ db: OpaquePointer, _ sql: String) throws -> [[String]] {
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw Failure(description: "prepare failed: \(sql)") }
    defer { sqlite3_finalize(statement) }
    var rows: [[String]] = []
    while sqlite3_step(statement) == SQLITE_ROW {
        rows.append((0..<sqlite3_column_count(statement)).map { column in
            sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "NULL"
        })
    }
    return rows
}

func text(_ value: SQLiteValue) -> String {
    switch value {
    case .null: "NULL"
    case .integer(let integer): String(integer)
    case .real(let real): String(real)
    case .text(let text): text
    case .blob: "blob"
    }
}

let aggregates: [(name: String, sql: String)] = [
    ("GROUP BY region: count, sum, avg", "SELECT region, count(*), sum(amount), avg(quantity) FROM sales GROUP BY region ORDER BY region"),
    ("filtered count and sum", "SELECT count(*), sum(amount) FROM sales WHERE quantity > 6"),
    ("min and max over all rows", "SELECT min(amount), max(amount), total(quantity) FROM sales"),
]

print("## Scatter-gather aggregates (\(aggregateRows) rows, \(aggregateRuns) runs each)\n")
print("| query | MeshDB rows/s | SQLite rows/s | MeshDB / SQLite | MeshDB strategy |")
print("|---|---:|---:|---:|---|")
for (name, sql) in aggregates {
    let strategy = try await session.plan(sql).strategy.rawValue
    // Both sides must agree before either is timed (reals compared to 6 significant digits).
    let meshRows = try await session.execute(sql)[0].rows.map { $0.map(text) }
    let expected = try sqliteRows(baseline, sql)
    func rounded(_ rows: [[String]]) -> [[String]] {
        rows.map { $0.map { Double($0).map { String(format: "%.6g", $0) } ?? $0 } }
    }
    guard rounded(meshRows) == rounded(expected) else {
        throw Failure(description: "\(name): MeshDB \(meshRows) differs from SQLite \(expected)")
    }
    let meshStarted = ContinuousClock.now
    for _ in 0..<aggregateRuns { _ = try await session.execute(sql) }
    let meshSeconds = seconds(ContinuousClock.now - meshStarted)
    let sqliteSeconds = try time { for _ in 0..<aggregateRuns { _ = try sqliteRows(baseline, sql) } }
    let meshRate = Double(aggregateRows * aggregateRuns) / meshSeconds
    let sqliteRate = Double(aggregateRows * aggregateRuns) / sqliteSeconds
    print("| \(name) | \(Int(meshRate)) | \(Int(sqliteRate)) | \(String(format: "%.2fx", meshRate / sqliteRate)) | \(strategy) |")
}

await cluster.stop()
