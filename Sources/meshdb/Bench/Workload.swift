import Consensus

/// The workloads of `meshdb bench`. Each is plain SQL that MeshDB, PostgreSQL and SQLite all run,
/// on tables the setup step creates (dropping earlier ones of the same name), so one run against
/// each target compares like with like. An operation is a list of statements with bound values;
/// `BenchConnection` sends them over the PostgreSQL protocol or runs them in SQLite.
enum Workload: String, CaseIterable, Sendable {
    case pointSelect = "point-select"
    case insert
    case update
    /// 80 % point selects, 20 % updates.
    case mixed
    /// 100 consecutive keys.
    case rangeScan = "range-scan"
    /// count / sum / min / max over the whole table.
    case aggregate
    /// INSERT of one bytea value of `--value-bytes`.
    case blobPut = "blob-put"
    /// SELECT of one such value.
    case blobGet = "blob-get"
    /// pgbench's TPC-B-like transaction: BEGIN; UPDATE account; SELECT it; UPDATE teller;
    /// UPDATE branch; INSERT history; COMMIT.
    case tpcb

    struct Settings: Sendable {
        var rows: Int
        var valueBytes: Int
        var blobRows: Int
        /// Branches for tpcb (pgbench's scale); 10 tellers each.
        var branches = 1
    }

    /// The two SQL dialects the setup has to speak (the operations are common SQL).
    enum Dialect: Sendable { case postgres, sqlite }

    /// One statement of an operation: SQL with `$1…` placeholders and their values.
    struct Step: Sendable {
        var sql: String
        var values: [BenchValue] = []
    }

    /// One operation: its statements, and whether they form one transaction.
    struct Operation: Sendable {
        var steps: [Step]
        var transaction = false
    }

    /// The statements that create and fill this workload's tables (blob-get rows come after, as
    /// `setupRows`).
    func setupSQL(_ settings: Settings, dialect: Dialect) -> [String] {
        func series(_ count: Int, _ select: String, into table: String) -> String {
            switch dialect {
            case .postgres:
                return "INSERT INTO \(table) SELECT \(select) FROM generate_series(1, \(count)) AS g"
            case .sqlite:
                return "INSERT INTO \(table) WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < \(count)) SELECT \(select) FROM s"
            }
        }
        switch self {
        case .pointSelect, .update, .mixed, .rangeScan, .aggregate:
            return ["DROP TABLE IF EXISTS bench_kv",
                    "CREATE TABLE bench_kv (id bigint PRIMARY KEY, k bigint NOT NULL, v text NOT NULL)",
                    series(settings.rows, "g, g % 1000, 'value ' || g", into: "bench_kv")]
        case .insert:
            return ["DROP TABLE IF EXISTS bench_insert",
                    "CREATE TABLE bench_insert (id bigint PRIMARY KEY, k bigint NOT NULL, v text NOT NULL)"]
        case .blobPut, .blobGet:
            return ["DROP TABLE IF EXISTS bench_blobs",
                    "CREATE TABLE bench_blobs (id bigint PRIMARY KEY, body bytea NOT NULL)"]
        case .tpcb:
            return ["DROP TABLE IF EXISTS bench_accounts", "DROP TABLE IF EXISTS bench_tellers",
                    "DROP TABLE IF EXISTS bench_branches", "DROP TABLE IF EXISTS bench_history",
                    "CREATE TABLE bench_branches (bid int PRIMARY KEY, bbalance int NOT NULL)",
                    "CREATE TABLE bench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL)",
                    "CREATE TABLE bench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL)",
                    "CREATE TABLE bench_history (tid int, bid int, aid int, delta int, mtime timestamp)",
                    series(settings.branches, "g, 0", into: "bench_branches"),
                    series(settings.branches * 10, "g, (g - 1) / 10 + 1, 0", into: "bench_tellers"),
                    series(settings.rows, "g, (g - 1) % \(settings.branches) + 1, 0", into: "bench_accounts")]
        }
    }

    /// Rows inserted with bound values after `setupSQL` (the values blob-get reads).
    func setupRows(_ settings: Settings) -> [Step] {
        guard self == .blobGet else { return [] }
        var random = SplitMix64(seed: 0x626c_6f62)
        return (1...settings.blobRows).map { id in
            Step(sql: "INSERT INTO bench_blobs VALUES ($1, $2)",
                 values: [.integer(Int64(id)), .bytes(Self.randomBytes(settings.valueBytes, &random))])
        }
    }

    /// The `sequence`-th operation of client `client`.
    func operation(client: Int, sequence: Int, settings: Settings, random: inout some RandomNumberGenerator,
                   payload: [UInt8]) -> Operation {
        let key = Int64.random(in: 1...Int64(settings.rows), using: &random)
        // Inserted keys never collide: each client has its own range.
        let fresh = Int64(client) * 1_000_000_000 + Int64(sequence) + 1
        let pointSelect = Step(sql: "SELECT v FROM bench_kv WHERE id = $1", values: [.integer(key)])
        let update = Step(sql: "UPDATE bench_kv SET k = k + 1 WHERE id = $1", values: [.integer(key)])
        switch self {
        case .pointSelect:
            return Operation(steps: [pointSelect])
        case .insert:
            return Operation(steps: [Step(sql: "INSERT INTO bench_insert VALUES ($1, $2, $3)",
                                          values: [.integer(fresh), .integer(fresh % 1000), .text("value \(fresh)")])])
        case .update:
            return Operation(steps: [update])
        case .mixed:
            return Operation(steps: [Int.random(in: 0..<10, using: &random) < 8 ? pointSelect : update])
        case .rangeScan:
            let low = Int64.random(in: 1...max(1, Int64(settings.rows) - 99), using: &random)
            return Operation(steps: [Step(sql: "SELECT id, v FROM bench_kv WHERE id BETWEEN $1 AND $2",
                                          values: [.integer(low), .integer(low + 99)])])
        case .aggregate:
            return Operation(steps: [Step(sql: "SELECT count(*), sum(k), min(v), max(v) FROM bench_kv")])
        case .blobPut:
            return Operation(steps: [Step(sql: "INSERT INTO bench_blobs VALUES ($1, $2)", values: [.integer(fresh), .bytes(payload)])])
        case .blobGet:
            let id = Int64.random(in: 1...Int64(settings.blobRows), using: &random)
            return Operation(steps: [Step(sql: "SELECT body FROM bench_blobs WHERE id = $1", values: [.integer(id)])])
        case .tpcb:
            let tid = Int64.random(in: 1...Int64(settings.branches * 10), using: &random)
            let bid = Int64.random(in: 1...Int64(settings.branches), using: &random)
            let delta = Int64.random(in: -5000...5000, using: &random)
            return Operation(steps: [
                Step(sql: "UPDATE bench_accounts SET abalance = abalance + $1 WHERE aid = $2", values: [.integer(delta), .integer(key)]),
                Step(sql: "SELECT abalance FROM bench_accounts WHERE aid = $1", values: [.integer(key)]),
                Step(sql: "UPDATE bench_tellers SET tbalance = tbalance + $1 WHERE tid = $2", values: [.integer(delta), .integer(tid)]),
                Step(sql: "UPDATE bench_branches SET bbalance = bbalance + $1 WHERE bid = $2", values: [.integer(delta), .integer(bid)]),
                Step(sql: "INSERT INTO bench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
                     values: [.integer(tid), .integer(bid), .integer(key), .integer(delta)]),
            ], transaction: true)
        }
    }

    static func randomBytes(_ count: Int, _ random: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: random.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }
}

/// A value bound to a workload statement.
enum BenchValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case bytes([UInt8])
}
