import Logging
import NIOCore
import PostgresNIO

/// The workloads of `meshdb bench`. Each speaks plain SQL that MeshDB and PostgreSQL both run, on
/// tables the setup step creates (dropping earlier ones of the same name), so one run against
/// each target compares like with like.
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
        /// pgbench's scale: 1 branch, 10 tellers and 100,000 accounts per unit (accounts capped
        /// by `rows`, so a quick run stays quick).
        var branches = 1
    }

    /// Creates and fills this workload's tables.
    func setUp(_ connection: PostgresConnection, _ settings: Settings) async throws {
        func run(_ sql: String) async throws {
            try await connection.run(PostgresQuery(unsafeSQL: sql))
        }
        switch self {
        case .pointSelect, .update, .mixed, .rangeScan, .aggregate:
            try await run("DROP TABLE IF EXISTS bench_kv")
            try await run("CREATE TABLE bench_kv (id bigint PRIMARY KEY, k bigint NOT NULL, v text NOT NULL)")
            try await run("INSERT INTO bench_kv SELECT g, g % 1000, 'value ' || g FROM generate_series(1, \(settings.rows)) AS g")
        case .insert:
            try await run("DROP TABLE IF EXISTS bench_insert")
            try await run("CREATE TABLE bench_insert (id bigint PRIMARY KEY, k bigint NOT NULL, v text NOT NULL)")
        case .blobPut, .blobGet:
            try await run("DROP TABLE IF EXISTS bench_blobs")
            try await run("CREATE TABLE bench_blobs (id bigint PRIMARY KEY, body bytea NOT NULL)")
            if self == .blobGet {
                var random = SystemRandomNumberGenerator()
                for id in 1...settings.blobRows {
                    let body = Self.randomBytes(settings.valueBytes, &random)
                    try await connection.run("INSERT INTO bench_blobs VALUES (\(id), \(body))")
                }
            }
        case .tpcb:
            for table in ["bench_accounts", "bench_tellers", "bench_branches", "bench_history"] {
                try await run("DROP TABLE IF EXISTS \(table)")
            }
            try await run("CREATE TABLE bench_branches (bid int PRIMARY KEY, bbalance int NOT NULL)")
            try await run("CREATE TABLE bench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL)")
            try await run("CREATE TABLE bench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL)")
            try await run("CREATE TABLE bench_history (tid int, bid int, aid int, delta int, mtime timestamp)")
            try await run("INSERT INTO bench_branches SELECT g, 0 FROM generate_series(1, \(settings.branches)) AS g")
            try await run("INSERT INTO bench_tellers SELECT g, (g - 1) / 10 + 1, 0 FROM generate_series(1, \(settings.branches * 10)) AS g")
            try await run("INSERT INTO bench_accounts SELECT g, (g - 1) % \(settings.branches) + 1, 0 FROM generate_series(1, \(settings.rows)) AS g")
        }
    }

    /// One operation of client `client`, its `sequence`-th. Throws what the server answered.
    func runOnce(_ connection: PostgresConnection, client: Int, sequence: Int, settings: Settings,
                 random: inout some RandomNumberGenerator, payload: ByteBuffer) async throws {
        let key = Int64.random(in: 1...Int64(settings.rows), using: &random)
        switch self {
        case .pointSelect:
            try await connection.run("SELECT v FROM bench_kv WHERE id = \(key)")
        case .insert:
            // Keys never collide: each client has its own range.
            let id = Int64(client) * 1_000_000_000 + Int64(sequence) + 1
            try await connection.run("INSERT INTO bench_insert VALUES (\(id), \(id % 1000), \("value \(id)"))")
        case .update:
            try await connection.run("UPDATE bench_kv SET k = k + 1 WHERE id = \(key)")
        case .mixed:
            if Int.random(in: 0..<10, using: &random) < 8 {
                try await connection.run("SELECT v FROM bench_kv WHERE id = \(key)")
            } else {
                try await connection.run("UPDATE bench_kv SET k = k + 1 WHERE id = \(key)")
            }
        case .rangeScan:
            let low = Int64.random(in: 1...max(1, Int64(settings.rows) - 99), using: &random)
            let high = low + 99
            try await connection.run("SELECT id, v FROM bench_kv WHERE id BETWEEN \(low) AND \(high)")
        case .aggregate:
            try await connection.run(PostgresQuery(unsafeSQL: "SELECT count(*), sum(k), min(v), max(v) FROM bench_kv"))
        case .blobPut:
            let id = Int64(client) * 1_000_000_000 + Int64(sequence) + 1
            try await connection.run("INSERT INTO bench_blobs VALUES (\(id), \(payload))")
        case .blobGet:
            let id = Int64.random(in: 1...Int64(settings.blobRows), using: &random)
            try await connection.run("SELECT body FROM bench_blobs WHERE id = \(id)")
        case .tpcb:
            let aid = Int32(key)
            let tid = Int32.random(in: 1...Int32(settings.branches * 10), using: &random)
            let bid = Int32.random(in: 1...Int32(settings.branches), using: &random)
            let delta = Int32.random(in: -5000...5000, using: &random)
            try await connection.run("BEGIN")
            do {
                try await connection.run("UPDATE bench_accounts SET abalance = abalance + \(delta) WHERE aid = \(aid)")
                try await connection.run("SELECT abalance FROM bench_accounts WHERE aid = \(aid)")
                try await connection.run("UPDATE bench_tellers SET tbalance = tbalance + \(delta) WHERE tid = \(tid)")
                try await connection.run("UPDATE bench_branches SET bbalance = bbalance + \(delta) WHERE bid = \(bid)")
                try await connection.run(
                    "INSERT INTO bench_history (tid, bid, aid, delta, mtime) VALUES (\(tid), \(bid), \(aid), \(delta), CURRENT_TIMESTAMP)")
                try await connection.run("COMMIT")
            } catch {
                try? await connection.run("ROLLBACK")
                throw error
            }
        }
    }

    static func randomBytes(_ count: Int, _ random: inout some RandomNumberGenerator) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        var left = count
        while left > 0 {
            var word = random.next() as UInt64
            let take = min(8, left)
            withUnsafeBytes(of: &word) { _ = buffer.writeBytes($0.prefix(take)) }
            left -= take
        }
        return buffer
    }
}

extension PostgresConnection {
    /// Runs `query` and reads every row it returns (the cost of a result is part of the operation).
    func run(_ query: PostgresQuery) async throws {
        for try await _ in try await self.query(query, logger: BenchLog.quiet) {}
    }
}

enum BenchLog {
    /// postgres-nio logs at trace/debug per query; the bench prints its own lines.
    static let quiet: Logger = {
        var logger = Logger(label: "meshdb.bench")
        logger.logLevel = .critical
        return logger
    }()
}
