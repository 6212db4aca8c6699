import Foundation
import Logging
import MeshDB
import MeshWire
import PostgresNIO
import Synchronization
import Testing
import TestSupport

/// Describe (extended protocol) must not read-lock shards. It used to run the SELECT with NULL
/// parameters inside the session's transaction block: `id = NULL` prunes nothing, so a Describe
/// read-locked every shard of the table, and two `meshdb bench --workload tpcb` clients
/// (postgres-nio: Parse/Describe/Bind/Execute per statement) deadlocked with 40P01.
@Suite(.heavy, .serialized) struct DescribeTests {
    let logger = Logger(label: "meshwire.tests")

    func connect(port: Int, user: String = "meshdb", password: String? = nil) async throws -> PostgresConnection {
        try await connectPostgres(port: port, user: user, password: password, logger: logger)
    }

    /// The shard a point query on `id` reads, from EXPLAIN ("… 1 of 8 shards (N)").
    func shard(of id: Int, on connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN SELECT v FROM described WHERE id = \(id)"), logger: logger)
        for try await line in rows.decode(String.self) where line.contains("Shard scan") {
            return String(line.split(separator: "(").last ?? "")
        }
        Issue.record("EXPLAIN showed no shard scan")
        return ""
    }

    @Test func describeInsideABlockTakesNoLockOnTheShardsANullKeyWouldScan() async throws {
        let wire = try await WireTestCluster.start()
        do {
            let a = try await connect(port: wire.port)
            let b = try await connect(port: wire.port)
            try await a.query("CREATE TABLE described (id bigint PRIMARY KEY, v text)", logger: logger)
            try await a.query(PostgresQuery(unsafeSQL: "INSERT INTO described SELECT g, 'v' || g FROM generate_series(1, 50) AS g"), logger: logger)
            let lockedShard = try await shard(of: 1, on: a)
            var other = 2
            while try await shard(of: other, on: a) == lockedShard { other += 1 }

            let otherID = other
            try await a.query("BEGIN", logger: logger)
            try await a.query("UPDATE described SET v = 'changed' WHERE id = 1", logger: logger)
            try await b.query("BEGIN", logger: logger)
            // B reads a row on another shard: with its Describe locking every shard, this waited
            // for A's write lock (until A ended, or 55P03 after the lock wait limit).
            let finished = ReadOutcome()
            let read = Task { [logger, otherID] in
                var values: [String] = []
                for try await value in try await b.query("SELECT v FROM described WHERE id = \(otherID)", logger: logger).decode(String.self) {
                    values.append(value)
                }
                finished.values.withLock { $0 = values }
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while finished.values.withLock({ $0 == nil }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(finished.values.withLock { $0 } == ["v\(other)"], "B's SELECT of row \(other) waited on A's lock of row 1's shard")
            try await a.query("COMMIT", logger: logger)
            _ = try await read.value
            try await b.query("COMMIT", logger: logger)
            try await a.close()
            try await b.close()
        } catch {
            print("DescribeTests: \(String(reflecting: error))")  // postgres-nio's description is generic on purpose
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    /// Regression (found by the REPL's tests after the lock-free Describe): an error found while
    /// describing, which PostgreSQL reports at Parse, must still abort the block.
    @Test func anErrorAtDescribeAbortsTheBlock() async throws {
        let wire = try await WireTestCluster.start()
        do {
            let connection = try await connect(port: wire.port)
            try await connection.query("CREATE TABLE described_errors (id bigint PRIMARY KEY)", logger: logger)
            try await connection.query("BEGIN", logger: logger)
            func sqlState(_ sql: String) async -> String? {
                do {
                    for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {}
                    return nil
                } catch let error as PSQLError {
                    return error.serverInfo?[.sqlState]
                } catch {
                    return "\(error)"
                }
            }
            #expect(await sqlState("SELECT nope FROM described_errors") == "42703")
            #expect(await sqlState("SELECT 1") == "25P02")
            try await connection.query("ROLLBACK", logger: logger)
            #expect(await sqlState("SELECT 1") == nil)
            try await connection.close()
        } catch {
            print("DescribeTests: \(String(reflecting: error))")  // postgres-nio's description is generic on purpose
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    /// Describe results are cached per session by statement text and catalog version: the same
    /// query after a schema change describes the new columns.
    @Test func theDescribeCacheFollowsSchemaChanges() async throws {
        let wire = try await WireTestCluster.start()
        do {
            let connection = try await connect(port: wire.port)
            try await connection.query("CREATE TABLE described_cache (id bigint PRIMARY KEY, a text)", logger: logger)
            try await connection.query("INSERT INTO described_cache VALUES (1, 'x')", logger: logger)
            func columns() async throws -> [String] {
                let rows = try await connection.query("SELECT * FROM described_cache WHERE id = \(1)", logger: logger)
                var names: [String] = []
                for try await row in rows { names = row.map(\.columnName) }
                return names
            }
            #expect(try await columns() == ["id", "a"])
            #expect(try await columns() == ["id", "a"])
            try await connection.query("ALTER TABLE described_cache ADD COLUMN b int", logger: logger)
            #expect(try await columns() == ["id", "a", "b"])
            try await connection.close()
        } catch {
            print("DescribeTests: \(String(reflecting: error))")  // postgres-nio's description is generic on purpose
            await wire.stop()
            throw error
        }
        await wire.stop()
    }
}

/// What B's read returned, once it has.
final class ReadOutcome: Sendable {
    let values = Mutex<[String]?>(nil)
}
