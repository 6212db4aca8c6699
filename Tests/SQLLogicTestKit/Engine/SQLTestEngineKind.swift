/// The engines the harness command line knows, and how each one is started.
public enum SQLTestEngineKind: String, Sendable, CaseIterable {
    case sqlite
    case meshdb

    /// Names besides the engine's own that `skipif` / `onlyif` records match for it
    /// (`SQLLogicTestRunner.Options.guardAliases`). MeshDB executes every statement on SQLite
    /// shards, so a record written for "sqlite" (its dialect, its quirks) applies to it too,
    /// and a record skipped for sqlite is skipped for it.
    public var defaultGuardAliases: [String] {
        switch self {
        case .sqlite: []
        case .meshdb: ["sqlite"]
        }
    }

    /// How the differential tester's CREATE TABLE reads for this engine: MeshDB spreads each
    /// table over 8 shards, so that every query crosses shards.
    public var schemaDialect: SchemaDialect {
        switch self {
        case .sqlite: .sqlite
        case .meshdb: .withTableOptions("SHARDS 8")
        }
    }

    /// What an engine is started for: SQLite behaves a little differently for each.
    public enum Purpose: Sendable {
        /// sqllogictest scripts: SQLite ends a query at an error as the reference adapter does
        /// (`SQLiteReferenceEngine.endsQueriesAtStepErrors`).
        case scripts
        /// The differential tester: every error is reported.
        case differential
    }

    /// A fresh, empty engine of this kind.
    public func makeEngine(for purpose: Purpose) async throws -> any SQLTestEngine {
        switch self {
        case .sqlite:
            return try SQLiteReferenceEngine(endsQueriesAtStepErrors: purpose == .scripts)
        case .meshdb:
            return try await MeshSQLEngine.start()
        }
    }
}
