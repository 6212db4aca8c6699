import Foundation
import Logging
import MeshDB
import NIOCore
import PostgresNIO

/// One client's connection to the system under test.
protocol BenchConnection: Sendable {
    /// Runs the statements (in one transaction when the operation says so) and reads every row:
    /// the cost of a result is part of the operation. Throws what the system answered.
    func run(_ operation: Workload.Operation) async throws
    func close() async
}

/// Over the PostgreSQL protocol (MeshDB or PostgreSQL), through postgres-nio: each statement is
/// Parse/Bind/Execute with its values bound.
struct PostgresBenchConnection: BenchConnection {
    let connection: PostgresConnection

    func run(_ operation: Workload.Operation) async throws {
        guard operation.transaction else {
            for step in operation.steps { try await execute(step) }
            return
        }
        try await execute(Workload.Step(sql: "BEGIN"))
        do {
            for step in operation.steps { try await execute(step) }
            try await execute(Workload.Step(sql: "COMMIT"))
        } catch {
            try? await execute(Workload.Step(sql: "ROLLBACK"))
            throw error
        }
    }

    func execute(_ step: Workload.Step) async throws {
        var bindings = PostgresBindings(capacity: step.values.count)
        for value in step.values {
            switch value {
            case .integer(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: step.sql, binds: bindings), logger: BenchLog.quiet)
        for try await _ in rows {}
    }

    func close() async {
        try? await connection.close()
    }
}

/// Raw SQLite in the bench's own process: one connection per client to one database file in WAL
/// mode with `synchronous = FULL` (every commit fsynced, as PostgreSQL and MeshDB do). An
/// operation runs synchronously in one call — a TPC-B transaction holds SQLite's write lock only
/// inside it — on the client's own thread, so a client waiting for the lock blocks no other.
final class SQLiteBenchConnection: BenchConnection, @unchecked Sendable {
    // @unchecked: `connection` is used only on `queue`, a serial queue of this client's.
    private let connection: SQLiteConnection
    private let queue: DispatchQueue

    init(path: String, client: Int) throws {
        connection = try SQLiteConnection(path: path)
        queue = DispatchQueue(label: "meshdb.bench.sqlite.\(client)")
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 30000"] {
            _ = try connection.run(pragma)
        }
    }

    func run(_ operation: Workload.Operation) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                do {
                    try runNow(operation)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Runs SQL directly (setup).
    func runSQL(_ sql: String, _ values: [BenchValue] = []) async throws {
        try await run(Workload.Operation(steps: [Workload.Step(sql: sql, values: values)]))
    }

    private func runNow(_ operation: Workload.Operation) throws {
        if operation.transaction { _ = try connection.run("BEGIN IMMEDIATE") }
        do {
            for step in operation.steps {
                _ = try connection.run(Self.sqliteSQL(step.sql), step.values.map(Self.sqliteValue))
            }
            if operation.transaction { _ = try connection.run("COMMIT") }
        } catch {
            if operation.transaction { _ = try? connection.run("ROLLBACK") }
            throw error
        }
    }

    /// `$1` placeholders as SQLite's `?1`.
    static func sqliteSQL(_ sql: String) -> String {
        sql.replacingOccurrences(of: "$", with: "?")
    }

    static func sqliteValue(_ value: BenchValue) -> SQLiteValue {
        switch value {
        case .integer(let number): .integer(number)
        case .text(let text): .text(text)
        case .bytes(let bytes): .blob(bytes)
        }
    }

    func close() async {
        queue.sync { connection.close() }
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
