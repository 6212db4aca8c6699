/// What running one script on one engine came to.
public struct SQLLogicTestFileReport: Sendable, Hashable {
    public let path: String
    public let engine: String
    /// Statement and query records that ran and matched.
    public internal(set) var passed = 0
    /// Records that ran and did not match, or whose label disagreed.
    public internal(set) var failed = 0
    /// Records a `skipif` / `onlyif` keeps from this engine: written for other engines, they
    /// are not part of its score.
    public internal(set) var skippedByGuard = 0
    /// Records the engine's skip list keeps from it (a feature it lacks): they count against it.
    public internal(set) var skippedByList = 0
    /// The first failures, in script order (`Options.failuresKeptMax`).
    public internal(set) var failures: [SQLLogicTestFailure] = []
    /// Line of the `halt` record that ended the run, if one did.
    public internal(set) var haltedAtLine: Int?
    var skipCounts: [SkipKey: Int] = [:]

    struct SkipKey: Hashable {
        let reason: String
        let byGuard: Bool
    }

    /// How many records were skipped for one reason.
    public struct SkipReason: Sendable, Hashable {
        /// "onlyif mysql", "skipif sqlite", or the skip list's reason.
        public let reason: String
        /// Whether a guard (not the skip list) skipped them.
        public let byGuard: Bool
        public let count: Int
    }

    init(path: String, engine: String) {
        self.path = path
        self.engine = engine
    }

    /// Skip reasons, most frequent first, then by name (a stable order for reports and docs).
    public var skipReasons: [SkipReason] {
        skipCounts.map { SkipReason(reason: $0.key.reason, byGuard: $0.key.byGuard, count: $0.value) }
            .sorted { a, b in
                if a.count != b.count { return a.count > b.count }
                if a.reason != b.reason { return a.reason < b.reason }
                return a.byGuard && !b.byGuard
            }
    }

    /// Records this engine is expected to pass: all but those written for other engines.
    public var applicable: Int { passed + failed + skippedByList }

    /// Share of the applicable records passed, in percent (100 when none applies).
    public var passPercent: Double { applicable == 0 ? 100 : Double(passed) * 100 / Double(applicable) }

    mutating func skip(reason: String, byGuard: Bool) {
        if byGuard { skippedByGuard += 1 } else { skippedByList += 1 }
        skipCounts[SkipKey(reason: reason, byGuard: byGuard), default: 0] += 1
    }

    mutating func fail(_ failure: SQLLogicTestFailure, keptMax: Int) {
        failed += 1
        if failures.count < keptMax { failures.append(failure) }
    }
}

/// One record that did not match, with what a person needs to reproduce it.
public struct SQLLogicTestFailure: Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let sql: String
    /// What went wrong: "wrong result", "statement failed: ...", ...
    public let message: String
    public let expected: [String]
    public let actual: [String]

    /// Lines of expected and actual values shown at most.
    static let linesShownMax = 20

    public var description: String {
        var text = "\(path):\(line): \(message)\n  SQL: \(sql.replacingOccurrences(of: "\n", with: "\n       "))"
        if !expected.isEmpty || !actual.isEmpty {
            text += "\n  expected: " + Self.shown(expected) + "\n  got:      " + Self.shown(actual)
        }
        return text
    }

    static func shown(_ lines: [String]) -> String {
        guard !lines.isEmpty else { return "(no rows)" }
        let more = lines.count > linesShownMax ? " … (\(lines.count) values)" : ""
        return lines.prefix(linesShownMax).joined(separator: " | ") + more
    }
}
