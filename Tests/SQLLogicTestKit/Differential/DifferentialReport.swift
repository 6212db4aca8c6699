/// What a differential run came to.
public struct DifferentialReport: Sendable {
    public let seed: UInt64
    public let candidate: String
    public internal(set) var queriesRun = 0
    /// Schemas loaded on both engines.
    public internal(set) var schemas = 0
    /// Queries whose results differ, or that failed on one engine.
    public internal(set) var mismatchCount = 0
    /// Queries the reference itself failed: bugs of the generator (counted in mismatches too).
    public internal(set) var referenceErrorCount = 0
    /// Queries whose reference result had at least one row: a measure of what the run tested.
    public internal(set) var nonEmptyResults = 0
    /// The first mismatches, with what replays them.
    public internal(set) var mismatches: [DifferentialMismatch] = []
    /// Schemas that did not load on one engine (their queries were not run).
    public internal(set) var setupFailures: [String] = []
    var shapeCounts: [QueryShape: Int] = [:]

    init(seed: UInt64, candidate: String) {
        self.seed = seed
        self.candidate = candidate
    }

    public var passed: Bool { mismatchCount == 0 && setupFailures.isEmpty && queriesRun > 0 }

    /// Queries run per shape, in `QueryShape.allCases` order.
    public var shapes: [(shape: QueryShape, count: Int)] {
        QueryShape.allCases.map { ($0, shapeCounts[$0, default: 0]) }
    }

    mutating func count(_ query: GeneratedQuery, reference: Result<SQLTestOutcome, DifferentialRunner.QueryError>) {
        queriesRun += 1
        shapeCounts[query.shape, default: 0] += 1
        if case .success(.rows(_, let rows)) = reference, !rows.isEmpty { nonEmptyResults += 1 }
    }

    /// A few lines for a terminal or a CI log.
    public var summary: String {
        var lines = [
            "differential, seed \(seed), sqlite vs \(candidate): \(queriesRun) queries over \(schemas) schemas, "
                + "\(nonEmptyResults) with rows; \(mismatchCount) mismatches (\(referenceErrorCount) failed on the reference)",
            "shapes: " + shapes.map { "\($0.shape.rawValue) \($0.count)" }.joined(separator: ", "),
        ]
        lines += setupFailures.map { "setup failed: " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// One query the engines disagree on, with all it takes to replay it.
public struct DifferentialMismatch: Sendable, CustomStringConvertible {
    public let seed: UInt64
    public let queriesPerSchema: Int
    public let queries: Int
    public let candidate: String
    public let schemaIndex: Int
    public let queryIndex: Int
    /// The schema's statements as SQLite ran them: CREATE TABLE and INSERT.
    public let schema: [String]
    public let query: GeneratedQuery
    public let reason: String
    public let reference: String
    public let candidateResult: String

    init(options: DifferentialRunner.Options, candidate: String, schemaIndex: Int, queryIndex: Int, schema: [String],
         query: GeneratedQuery, reason: String, reference: String, candidate candidateResult: String) {
        seed = options.seed
        queriesPerSchema = options.queriesPerSchema
        queries = options.queries
        self.candidate = candidate
        self.schemaIndex = schemaIndex
        self.queryIndex = queryIndex
        self.schema = schema
        self.query = query
        self.reason = reason
        self.reference = reference
        self.candidateResult = candidateResult
    }

    /// The command that runs this query alone, on its schema.
    public var replayCommand: String {
        "meshdb-sqllogictest differential --engine \(candidate) --seed \(seed) --queries \(queries) "
            + "--queries-per-schema \(queriesPerSchema) --only \(queryIndex)"
    }

    public var description: String {
        """
        mismatch in query \(queryIndex) (schema \(schemaIndex), seed \(seed)): \(reason)
          replay: \(replayCommand)
          query (\(query.shape.rawValue), compared \(query.isOrdered ? "in order" : "as a multiset")): \(query.sql)
          sqlite: \(reference)
          \(candidate): \(candidateResult)
          schema:
        \(schema.map { "    " + $0 + ";" }.joined(separator: "\n"))
        """
    }
}
