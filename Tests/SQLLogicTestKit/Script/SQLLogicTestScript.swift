/// A sqllogictest script, parsed: its records in order (format: Tests/Corpus/sqllogictest/about.wiki).
public struct SQLLogicTestScript: Sendable, Hashable {
    /// Where the script came from, as given (reports and skip lists name it).
    public let path: String
    public let records: [SQLLogicTestRecord]

    public init(path: String, records: [SQLLogicTestRecord]) {
        self.path = path
        self.records = records
    }
}

/// One record: a statement, a query or a control record, with the conditions before it.
public struct SQLLogicTestRecord: Sendable, Hashable {
    /// 1-based line of the record's command (`statement`, `query`, ...), after any conditions:
    /// the line the reference implementation reports, and the one skip lists name.
    public let line: Int
    public let conditions: [SQLLogicTestCondition]
    public let body: Body

    public enum Body: Sendable, Hashable {
        /// `statement ok` / `statement error`, then the SQL.
        case statement(expectsError: Bool, sql: String)
        case query(SQLLogicTestQuery)
        /// `hash-threshold N`: results of more than N values are compared as an MD5 hash; 0 never hashes.
        case hashThreshold(Int)
        /// `halt`: the rest of the script is not run.
        case halt
    }

    public init(line: Int, conditions: [SQLLogicTestCondition] = [], body: Body) {
        self.line = line
        self.conditions = conditions
        self.body = body
    }

    /// The SQL of a statement or query record.
    public var sql: String? {
        switch body {
        case .statement(_, let sql): sql
        case .query(let query): query.sql
        case .hashThreshold, .halt: nil
        }
    }
}

/// `skipif <engine>` / `onlyif <engine>` before a record.
public enum SQLLogicTestCondition: Sendable, Hashable, CustomStringConvertible {
    case skipIf(String)
    case onlyIf(String)

    public var description: String {
        switch self {
        case .skipIf(let engine): "skipif \(engine)"
        case .onlyIf(let engine): "onlyif \(engine)"
        }
    }
}

/// `query <types> [sort] [label]`, its SQL and the expected result lines.
public struct SQLLogicTestQuery: Sendable, Hashable {
    public let types: [SQLLogicTestColumnType]
    public let sort: SQLLogicTestSortMode
    /// Queries with the same label must produce the same values (same MD5 hash).
    public let label: String?
    public let sql: String
    /// The lines after `----`: one value per line, or one line `N values hashing to <md5>`.
    /// Empty when the query expects no rows.
    public let expected: [String]

    public init(types: [SQLLogicTestColumnType], sort: SQLLogicTestSortMode = .noSort, label: String? = nil, sql: String,
                expected: [String]) {
        self.types = types
        self.sort = sort
        self.label = label
        self.sql = sql
        self.expected = expected
    }
}

/// How a result column is rendered: the letters of a query's type string.
public enum SQLLogicTestColumnType: Character, Sendable, Hashable {
    /// printf("%d") of the value as an integer (a real is truncated toward zero).
    case integer = "I"
    /// printf("%.3f") of the value as a real.
    case real = "R"
    /// The text of the value; "(empty)" for '', control and non-ASCII bytes as "@".
    case text = "T"
}

/// The order values are compared in.
public enum SQLLogicTestSortMode: String, Sendable, Hashable {
    /// As the engine returned them (the query has an ORDER BY, or one row).
    case noSort = "nosort"
    /// Rows sorted by their rendered values, compared as bytes (strcmp: "10" before "9").
    case rowSort = "rowsort"
    /// Every value sorted on its own, ignoring rows.
    case valueSort = "valuesort"
}
