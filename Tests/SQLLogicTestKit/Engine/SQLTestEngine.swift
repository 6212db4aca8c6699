public import MeshDB

/// A database the SQL harnesses judge: the sqllogictest runner and the differential tester send
/// it one statement at a time and compare what comes back. Values travel as `SQLiteValue`, the
/// five storage classes every engine here ends in (MeshDB executes on SQLite shards).
///
/// An engine starts empty: the sqllogictest runner uses a fresh one per script, as the reference
/// implementation opens a fresh database per script.
public protocol SQLTestEngine: Sendable {
    /// Runs one statement: rows for a query, or the number of rows changed for anything else.
    /// Throws when the statement fails (a `statement error` record expects exactly that).
    func execute(_ sql: String) async throws -> SQLTestOutcome
    /// What `skipif` / `onlyif` records name this engine by: "sqlite", "meshdb".
    var name: String { get }
    /// Releases what the engine holds (a cluster's nodes and files); the engine is not used after.
    func close() async
}

extension SQLTestEngine {
    public func close() async {}
}

/// What one statement produced.
public enum SQLTestOutcome: Sendable, Hashable {
    /// A result set (possibly empty): column names and rows, each with one value per column.
    case rows(columns: [String], rows: [[SQLiteValue]])
    /// A statement without a result set: rows inserted, updated or deleted (0 for DDL).
    case rowsChanged(Int)
}

/// An engine that cannot run in this build, with what is missing.
public struct SQLTestEngineUnavailable: Error, Sendable, CustomStringConvertible {
    public let engine: String
    public let reason: String

    public init(engine: String, reason: String) {
        self.engine = engine
        self.reason = reason
    }

    public var description: String { "engine \(engine) is not available yet: \(reason)" }
}
