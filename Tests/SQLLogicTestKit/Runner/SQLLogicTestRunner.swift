/// Runs sqllogictest scripts on an engine and judges each record the way the reference
/// implementation's verify mode does (sqllogictest.c), with two strictnesses of its own: a
/// result with more or fewer values than expected fails (the reference stops comparing at the
/// shorter), and a query must return a result set with as many columns as its type string.
public struct SQLLogicTestRunner: Sendable {
    public struct Options: Sendable {
        /// Engine names that `skipif` / `onlyif` match besides the engine's own (compared
        /// without case, like the reference). An engine that executes on another one takes its
        /// records too: MeshDB runs with ["sqlite"] (`SQLTestEngineKind.defaultGuardAliases`),
        /// so `onlyif sqlite` records run on it and `skipif sqlite` records do not.
        public var guardAliases: [String] = []
        /// Records this engine does not run yet, with reasons.
        public var skipList = SQLLogicTestSkipList()
        /// Failures kept in a report, with their SQL and values; the rest are only counted.
        public var failuresKeptMax = 10
        /// Overrides every `hash-threshold` record (the reference's -ht option); 0 never hashes.
        public var hashThreshold: Int?

        public init() {}
    }

    public let options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Runs `script` on `engine`, which must start empty. Never throws: what goes wrong is a
    /// failure in the report.
    public func run(_ script: SQLLogicTestScript, on engine: any SQLTestEngine) async -> SQLLogicTestFileReport {
        var report = SQLLogicTestFileReport(path: script.path, engine: engine.name)
        var state = State(hashThreshold: options.hashThreshold ?? SQLLogicTestParser.defaultHashThreshold)
        let names = Set(([engine.name] + options.guardAliases).map { $0.lowercased() })
        for record in script.records {
            if let condition = Self.excludingCondition(record.conditions, names: names) {
                // A guarded control record (`onlyif mssql` / `halt`) is no test: nothing to count.
                guard let sql = record.sql else { continue }
                if case .query(let query) = record.body, let label = query.label,
                   let failure = state.checkSkippedLabel(label, expected: query.expected) {
                    report.fail(SQLLogicTestFailure(path: script.path, line: record.line, sql: sql, message: failure,
                                                    expected: query.expected, actual: []), keptMax: options.failuresKeptMax)
                } else {
                    report.skip(reason: condition.description, byGuard: true)
                }
                continue
            }
            switch record.body {
            case .hashThreshold(let threshold):
                if options.hashThreshold == nil { state.hashThreshold = threshold }
                continue
            case .halt:
                report.haltedAtLine = record.line
                return report
            case .statement, .query:
                break
            }
            guard let sql = record.sql else { continue }
            if let reason = options.skipList.reason(path: script.path, line: record.line, sql: sql) {
                report.skip(reason: reason, byGuard: false)
                continue
            }
            let mismatch: Mismatch? = switch record.body {
            case .statement(let expectsError, _): await Self.runStatement(sql, expectsError: expectsError, on: engine)
            case .query(let query): await runQuery(query, on: engine, state: &state)
            case .hashThreshold, .halt: nil
            }
            if let mismatch {
                report.fail(SQLLogicTestFailure(path: script.path, line: record.line, sql: sql, message: mismatch.message,
                                                expected: mismatch.expected, actual: mismatch.actual),
                            keptMax: options.failuresKeptMax)
            } else {
                report.passed += 1
            }
        }
        return report
    }

    /// The condition that keeps a record from an engine called by one of `names`: a `skipif`
    /// naming it, or an `onlyif` naming another engine.
    static func excludingCondition(_ conditions: [SQLLogicTestCondition], names: Set<String>) -> SQLLogicTestCondition? {
        conditions.first { condition in
            switch condition {
            case .skipIf(let engine): names.contains(engine.lowercased())
            case .onlyIf(let engine): !names.contains(engine.lowercased())
            }
        }
    }

    /// Why a record did not match.
    struct Mismatch: Sendable, Hashable {
        let message: String
        var expected: [String] = []
        var actual: [String] = []
    }

    /// What persists from record to record within a script.
    struct State {
        var hashThreshold: Int
        /// MD5 of the values of the first query with each label.
        var labels: [String: String] = [:]

        /// Records `md5` for `label`; a failure message when an earlier query's differs.
        mutating func check(label: String, md5: String) -> String? {
            if let earlier = labels[label] {
                return earlier == md5 ? nil : "labeled result [\(label)] does not agree with previous values"
            }
            labels[label] = md5
            return nil
        }

        /// A labeled query not run still has its expected result checked against the label, as
        /// the reference does: from its hash line, or the MD5 of its expected values.
        mutating func checkSkippedLabel(_ label: String, expected: [String]) -> String? {
            guard !expected.isEmpty else { return nil }
            let md5 = expected.count == 1 ? SQLLogicTestResultLines.hash(inLine: expected[0]) : nil
            return check(label: label, md5: md5 ?? SQLLogicTestResultLines.md5(of: expected))
                .map { $0 + " (record not run; checked from its expected result)" }
        }
    }

    static func runStatement(_ sql: String, expectsError: Bool, on engine: any SQLTestEngine) async -> Mismatch? {
        do {
            _ = try await engine.execute(sql)
            return expectsError ? Mismatch(message: "statement succeeded; an error was expected") : nil
        } catch {
            return expectsError ? nil : Mismatch(message: "statement failed: \(error)")
        }
    }

    func runQuery(_ query: SQLLogicTestQuery, on engine: any SQLTestEngine, state: inout State) async -> Mismatch? {
        let outcome: SQLTestOutcome
        do {
            outcome = try await engine.execute(query.sql)
        } catch {
            return Mismatch(message: "query failed: \(error)", expected: query.expected)
        }
        return Self.judge(query, outcome: outcome, state: &state)
    }

    /// Compares a query's outcome with what the script expects; nil when they match.
    static func judge(_ query: SQLLogicTestQuery, outcome: SQLTestOutcome, state: inout State) -> Mismatch? {
        guard case .rows(let columns, let rows) = outcome else {
            return Mismatch(message: "expected a result set; the engine ran a statement without one", expected: query.expected)
        }
        guard columns.count == query.types.count else {
            return Mismatch(message: "wrong number of result columns: expected \(query.types.count) but got \(columns.count)",
                            expected: query.expected)
        }
        if let row = rows.first(where: { $0.count != columns.count }) {
            return Mismatch(message: "a row has \(row.count) values for \(columns.count) columns", expected: query.expected)
        }
        let values = SQLLogicTestResultLines.sorted(SQLLogicTestResultLines.values(of: rows, types: query.types),
                                                    columns: columns.count, by: query.sort)
        let hashed = query.label != nil || (state.hashThreshold > 0 && values.count > state.hashThreshold)
        let md5 = hashed ? SQLLogicTestResultLines.md5(of: values) : ""
        let actual = SQLLogicTestResultLines.comparable(values, hashThreshold: state.hashThreshold, md5: md5)
        var problems: [String] = []
        if actual != query.expected {
            problems.append(actual.count == 1 && SQLLogicTestResultLines.hash(inLine: actual[0]) != nil ? "wrong result hash" : "wrong result")
        }
        if let label = query.label, let problem = state.check(label: label, md5: md5) {
            problems.append(problem)
        }
        return problems.isEmpty ? nil : Mismatch(message: problems.joined(separator: "; "), expected: query.expected, actual: actual)
    }
}
