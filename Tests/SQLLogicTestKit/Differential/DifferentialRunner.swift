import MeshDB

/// Runs generated queries on a reference engine (plain SQLite) and a candidate (MeshDB), and
/// reports every query whose results differ with what replays it.
///
/// Query i of a run belongs to schema i / queriesPerSchema, generated from the run's seed and
/// the schema's index; both engines drop every table a schema may have (DROP TABLE IF EXISTS)
/// and load the next one, the candidate with its own DDL (`candidateDialect`) and, by default,
/// its rows in another order. One engine of each side serves the whole run.
public struct DifferentialRunner: Sendable {
    public struct Options: Sendable {
        public var seed: UInt64
        public var queries: Int
        /// Queries run against one schema before the next is loaded.
        public var queriesPerSchema = 200
        /// Runs only the query with this index (its schema is still loaded): a replay.
        public var onlyQuery: Int?
        /// Mismatches kept in the report with their schema and results; the rest are counted.
        public var mismatchesKeptMax = 10
        /// How the candidate's CREATE TABLE reads (MeshDB: `.withTableOptions("SHARDS 8")`).
        public var candidateDialect = SchemaDialect.sqlite
        /// Whether the candidate loads each table's rows in a shuffled (seeded) order: no
        /// answer may depend on the order rows were inserted in.
        public var shufflesCandidateRows = true

        public init(seed: UInt64, queries: Int) {
            self.seed = seed
            self.queries = queries
        }
    }

    public let options: Options

    public init(options: Options) {
        precondition(options.queriesPerSchema > 0, "queriesPerSchema must be positive")
        self.options = options
    }

    /// The generator of schema `index` of a run with `seed`.
    public static func generator(seed: UInt64, schema index: Int) -> DifferentialGenerator {
        DifferentialGenerator(seed: SeededRandom.derive(seed, index))
    }

    /// Runs the queries; `progress` hears the number of queries run after each one.
    public func run(reference: any SQLTestEngine, candidate: any SQLTestEngine,
                    progress: (@Sendable (Int) -> Void)? = nil) async -> DifferentialReport {
        var report = DifferentialReport(seed: options.seed, candidate: candidate.name)
        let perSchema = options.queriesPerSchema
        for schemaIndex in 0..<(options.queries + perSchema - 1) / perSchema {
            let indices = schemaIndex * perSchema..<min((schemaIndex + 1) * perSchema, options.queries)
            if let only = options.onlyQuery, !indices.contains(only) { continue }
            var generator = Self.generator(seed: options.seed, schema: schemaIndex)
            let setup = generator.schema.statements(dialect: .sqlite)
            if let failure = await load(generator.schema, reference: reference, candidate: candidate, schemaIndex: schemaIndex) {
                report.setupFailures.append(failure)
                continue
            }
            report.schemas += 1
            for index in indices {
                let query = generator.nextQuery()
                if let only = options.onlyQuery, index != only { continue }
                let referenceResult = await Self.outcome(of: query.sql, on: reference)
                let candidateResult = await Self.outcome(of: query.sql, on: candidate)
                report.count(query, reference: referenceResult)
                let reason: String?
                switch (referenceResult, candidateResult) {
                case (.success(let a), .success(let b)):
                    reason = DifferentialComparator.difference(a, b, ordered: query.isOrdered)
                case (.success, .failure(let error)):
                    reason = "the candidate failed: \(error)"
                case (.failure(let error), _):
                    // The generator writes only valid queries: a bug in it, reported as one.
                    report.referenceErrorCount += 1
                    reason = "the reference failed: \(error)"
                }
                if let reason {
                    report.mismatchCount += 1
                    if report.mismatches.count < options.mismatchesKeptMax {
                        report.mismatches.append(DifferentialMismatch(
                            options: options, candidate: candidate.name, schemaIndex: schemaIndex, queryIndex: index,
                            schema: setup, query: query, reason: reason,
                            reference: Self.show(referenceResult), candidate: Self.show(candidateResult)))
                    }
                }
                progress?(report.queriesRun)
            }
        }
        return report
    }

    /// Drops the tables of any earlier schema on both engines and loads `schema`; a description
    /// of the first statement that failed, if one did.
    func load(_ schema: GeneratedSchema, reference: any SQLTestEngine, candidate: any SQLTestEngine, schemaIndex: Int) async -> String? {
        var shuffle = SeededRandom(seed: SeededRandom.derive(options.seed, -1 - schemaIndex))
        let drops = DifferentialGenerator.tableNames.map { "DROP TABLE IF EXISTS \($0)" }
        let referenceStatements = drops + schema.statements(dialect: .sqlite)
        let candidateStatements = drops + schema.statements(
            dialect: options.candidateDialect,
            rowOrder: options.shufflesCandidateRows ? { shuffle.shuffled($0.rows) } : nil)
        for (engine, statements) in [(reference, referenceStatements), (candidate, candidateStatements)] {
            for statement in statements {
                do {
                    _ = try await engine.execute(statement)
                } catch {
                    return "schema \(schemaIndex) (seed \(options.seed)): \(engine.name) failed on \(statement): \(error)"
                }
            }
        }
        return nil
    }

    static func outcome(of sql: String, on engine: any SQLTestEngine) async -> Result<SQLTestOutcome, QueryError> {
        do {
            return .success(try await engine.execute(sql))
        } catch {
            return .failure(QueryError(description: "\(error)"))
        }
    }

    struct QueryError: Error, CustomStringConvertible {
        let description: String
    }

    /// Rows shown in a mismatch report at most.
    static let rowsShownMax = 10

    static func show(_ result: Result<SQLTestOutcome, QueryError>) -> String {
        switch result {
        case .failure(let error): return "error: \(error)"
        case .success(.rowsChanged(let count)): return "\(count) rows changed"
        case .success(.rows(_, let rows)):
            let shown = rows.prefix(rowsShownMax).map(DifferentialComparator.show).joined(separator: " ")
            return "\(rows.count) rows: \(shown)\(rows.count > rowsShownMax ? " …" : "")"
        }
    }
}
