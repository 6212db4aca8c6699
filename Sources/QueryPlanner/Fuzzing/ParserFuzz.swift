/// The parser's robustness check: mutated statements in, and for each one either statements or an
/// `SQLError` out, never a crash or a hang. Beyond not crashing, each outcome must hold:
/// - an error carries an SQLSTATE the parser uses and, when it has one, a position inside the text;
/// - parsed statements render to SQLite text that parses again and renders to the same text (the
///   rendering is a fixed point), unless the reading back hits a limit (rendering adds parentheses
///   and bytes).
public enum ParserFuzz {
    /// The SQLSTATEs the parser may answer with.
    public static let expectedStates: Set<SQLState> = [
        .syntaxError, .featureNotSupported, .undefinedObject, .invalidParameterValue, .programLimitExceeded,
        .statementTooComplex, .invalidSchemaName,
    ]

    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public var input: String
        public var problem: String

        public var description: String { "\(problem)\n  input: \(String(reflecting: input))" }
    }

    public struct Summary: Sendable, Hashable, CustomStringConvertible {
        public var inputs = 0
        public var parsed = 0
        /// Errors by SQLSTATE code.
        public var errors: [String: Int] = [:]
        public var failures: [Failure] = []

        public var description: String {
            // Sorted: a Dictionary's order differs between runs.
            let byState = errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "inputs \(inputs), parsed \(parsed), errors [\(byState)], failures \(failures.count)"
        }
    }

    /// Statements the corpus lacks: MeshDB's PostgreSQL-flavoured syntax.
    public static let dialectSeeds = [
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20) NOT NULL DEFAULT 'x', CHECK (id > 0)) SHARD BY (id) SHARDS 4",
        "INSERT INTO t (id, v) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING *",
        "WITH c AS (SELECT a, count(*) AS n FROM t GROUP BY a) SELECT * FROM c LEFT JOIN s USING (a) ORDER BY n DESC NULLS LAST LIMIT 5 OFFSET 1",
        "SELECT CAST(a AS DOUBLE PRECISION), b::text, c ILIKE 'x%' ESCAPE '!', X'00ff', -9223372036854775808 FROM t",
        "UPDATE t SET v = v || '!' WHERE id BETWEEN 1 AND 10 RETURNING id; DELETE FROM t WHERE v IS NULL",
        "SET mesh.read_consistency TO 'verified'; SHOW mesh.read_consistency; EXPLAIN ANALYZE SELECT 1; BEGIN; COMMIT",
    ]

    /// The seeds of a run: every statement SQLite runs in `scripts` (sqllogictest texts by name),
    /// taken in name order, then `dialectSeeds`. The CI test and the soak both build theirs here,
    /// so that a seed replays the same inputs in either.
    public static func seeds(fromScripts scripts: [String: String]) -> [String] {
        scripts.sorted { $0.key < $1.key }.flatMap { SQLLogicTestReader.runnableRecords(in: $0.value).map(\.sql) }
            + dialectSeeds
    }

    /// Checks `inputs` mutations of `seeds` chosen by `seed`; `progress` hears about every
    /// `progressEvery` inputs. Failures are kept (the first 100) with their input.
    public static func run(seeds: [String], inputs: Int, seed: UInt64, progressEvery: Int = 100_000,
                           progress: (Summary) -> Void = { _ in }) -> Summary {
        var mutator = SQLMutator(seeds: seeds, seed: seed)
        var summary = Summary()
        for index in 0..<inputs {
            let input = mutator.next()
            record(check(input), for: input, in: &summary)
            if (index + 1) % progressEvery == 0 { progress(summary) }
        }
        return summary
    }

    public enum Outcome: Sendable, Hashable {
        case parsed
        case refused(SQLState)
        case failed(String)
    }

    /// One input through the parser and the renderer, with the checks above.
    public static func check(_ input: String) -> Outcome {
        let statements: [Statement]
        do {
            statements = try Parser.parseStatements(input)
        } catch {
            return problem(with: error, in: input).map(Outcome.failed) ?? .refused(error.state)
        }
        for statement in statements {
            let rendered = SQLiteRenderer.render(statement)
            do {
                let again = SQLiteRenderer.render(try Parser.parseStatement(rendered))
                if again != rendered { return .failed("rendering is not a fixed point: \(rendered) became \(again)") }
            } catch {
                if error.state == .statementTooComplex || error.state == .programLimitExceeded { continue }
                return .failed("the rendering \(rendered) does not parse: \(error)")
            }
        }
        return .parsed
    }

    private static func problem(with error: SQLError, in input: String) -> String? {
        guard expectedStates.contains(error.state) else { return "unexpected SQLSTATE in \(error)" }
        if let position = error.position, position < 1 || position > input.unicodeScalars.count + 1 {
            return "position \(position) outside the text in \(error)"
        }
        return nil
    }

    private static func record(_ outcome: Outcome, for input: String, in summary: inout Summary) {
        summary.inputs += 1
        switch outcome {
        case .parsed:
            summary.parsed += 1
        case .refused(let state):
            summary.errors[state.code, default: 0] += 1
        case .failed(let problem):
            if summary.failures.count < 100 { summary.failures.append(Failure(input: input, problem: problem)) }
        }
    }
}
