/// Physical plans: what the executor runs, and what EXPLAIN shows. A plan names its strategy,
/// the shards each step touches and the SQL sent to them, so EXPLAIN can show exactly what will
/// happen (DESIGN.md, "Read").
public struct SelectPlan: Sendable, Hashable {
    public enum Strategy: String, Sendable, Hashable {
        /// Equality on the whole primary key, which holds the shard key: one row, one shard.
        case pointLookup = "point lookup"
        /// The WHERE clause fixes the shard key to a few values: only their shards are read.
        case prunedScan = "shard-pruned scan"
        /// Every shard runs the pushed SQL; the gateway merges.
        case scatterGather = "scatter-gather"
        /// Several tables (a join, a subquery, a set operation): each table's rows, filtered and
        /// projected on its shards, are gathered into the gateway's scratch SQLite, which runs
        /// the statement.
        case gather = "gather"
        /// No table at all (`SELECT 1 + 1`): evaluated at the gateway.
        case constant = "constant"
    }

    /// One table's part: the SQL each of its shards runs.
    public struct ShardStep: Sendable, Hashable {
        public var table: String
        public var shardCount: Int
        /// Shards read, ascending.
        public var shards: [Int]
        public var sql: String
        /// Where the rows go when the finish runs SQL at the gateway: a scratch table of this
        /// name with these columns (name, SQLite declared type). Nil when rows stream through.
        public var scratchTable: String?
        public var scratchColumns: [ScratchColumn]
        /// A system table (`mesh_nodes`…): its rows come from the gateway's catalog replica.
        public var isSystem: Bool
        /// The SQL takes the statement's parameters $1…$n (bound as ?1…?n).
        public var parameterCount = 0
        /// Literals of the statement the SQL takes as parameters after those, ?(n+1)…
        /// (`KeyLiteralBinding`): bound after the statement's own.
        public var boundLiterals: [PlannerValue] = []
        /// The SQL's first column is each row's rowid (a table routed by its hidden row id, whose
        /// ids are unique across shards): the scratch table takes it as its own rowid, so it scans
        /// rows in the order one SQLite database would (insertion order, for group_concat).
        public var leadingRowID = false

        public init(table: String, shardCount: Int, shards: [Int], sql: String, scratchTable: String? = nil,
                    scratchColumns: [ScratchColumn] = [], isSystem: Bool = false) {
            self.isSystem = isSystem
            self.table = table
            self.shardCount = shardCount
            self.shards = shards
            self.sql = sql
            self.scratchTable = scratchTable
            self.scratchColumns = scratchColumns
        }
    }

    public struct ScratchColumn: Sendable, Hashable {
        public var name: String
        public var declaredType: String

        public init(name: String, declaredType: String) {
            self.name = name
            self.declaredType = declaredType
        }
    }

    public struct SortKey: Sendable, Hashable {
        public var column: Int
        public var descending: Bool
        public var nullsFirst: Bool

        public init(column: Int, descending: Bool, nullsFirst: Bool) {
            self.column = column
            self.descending = descending
            self.nullsFirst = nullsFirst
        }
    }

    /// How the gateway finishes the shards' results.
    public enum Finish: Sendable, Hashable {
        /// Rows in shard order as they come; then OFFSET and LIMIT (nil: none).
        case concatenate(offset: Int, limit: Int?)
        /// Each shard returned rows sorted by `keys` (top-N pushed): a k-way merge, then OFFSET and
        /// LIMIT, keeping the first `outputColumns` columns (the rest were sort keys).
        case mergeSorted(keys: [SortKey], offset: Int, limit: Int?, outputColumns: Int)
        /// The rows were loaded into scratch tables; this SQL, run at the gateway, gives the result
        /// (the final phase of a two-phase aggregate, a DISTINCT merge, a gathered join).
        case scratch(sql: String, description: String, parameterCount: Int = 0)
    }

    public var strategy: Strategy
    public var steps: [ShardStep]
    public var finish: Finish
    /// Notes EXPLAIN shows under the plan (partial aggregates pushed, blob columns skipped…).
    public var notes: [String]
    /// Statements run on the scratch database before the finish (the definitions of the views
    /// the statement reads).
    public var scratchDefinitions: [String] = []
    /// The blob strategy: which outputs are fetched from the chunk stores at the gateway; nil
    /// when the statement reads no bytea column.
    public var blobs: BlobStrategy?
    /// How the gateway reads chunks (window, replicas), for EXPLAIN; the executor sets it.
    public var blobReading = BlobStrategy.Reading(windowChunks: 8, replicas: 3)

    public init(strategy: Strategy, steps: [ShardStep], finish: Finish, notes: [String] = []) {
        self.strategy = strategy
        self.steps = steps
        self.finish = finish
        self.notes = notes
    }

    /// Shards touched by the plan, over all tables.
    public var shardsTouched: Int { steps.reduce(0) { $0 + $1.shards.count } }

    /// EXPLAIN's lines. `analysis` (EXPLAIN ANALYZE) adds rows and time per step, in step order
    /// then the finish; `blobAnalysis` the chunks the blob fetch read.
    public func explain(analysis: [StepAnalysis]? = nil, blobAnalysis: BlobStrategy.Analysis? = nil) -> [String] {
        var lines = ["Strategy: \(strategy.rawValue)"]
        for (index, step) in steps.enumerated() {
            let shardList = step.isSystem ? "catalog replica" : step.shards.count == step.shardCount
                ? "all \(step.shardCount) shards"
                : "\(step.shards.count) of \(step.shardCount) shards (\(step.shards.map(String.init).joined(separator: ", ")))"
            var line = "  -> Shard \(strategy == .gather ? "gather" : "scan") on \(step.table): \(shardList)"
            if let analysis, index < analysis.count { line += "  " + analysis[index].text }
            lines.append(line)
            lines.append("       Pushed SQL: \(step.sql)")
            if !step.boundLiterals.isEmpty {
                let first = step.parameterCount + 1
                let values = step.boundLiterals.enumerated().map { "?\(first + $0) = \(SQLiteRenderer.render(Expression(.literal(Literal($1)))))" }
                lines.append("       Key literals bound: \(values.joined(separator: ", "))")
            }
        }
        switch finish {
        case .concatenate(let offset, let limit):
            var line = "  -> Concatenate at gateway"
            if offset > 0 { line += ", offset \(offset)" }
            if let limit { line += ", limit \(limit)" }
            if let last = analysis?.last, analysis!.count > steps.count { line += "  " + last.text }
            lines.append(line)
        case .mergeSorted(let keys, let offset, let limit, _):
            var line = "  -> Merge \(steps.first?.shards.count ?? 0) sorted streams at gateway on \(keys.count) key\(keys.count == 1 ? "" : "s")"
            if offset > 0 { line += ", offset \(offset)" }
            if let limit { line += ", limit \(limit)" }
            if let last = analysis?.last, analysis!.count > steps.count { line += "  " + last.text }
            lines.append(line)
        case .scratch(let sql, let description, _):
            var line = "  -> \(description) at gateway"
            if let last = analysis?.last, analysis!.count > steps.count { line += "  " + last.text }
            lines.append(line)
            lines.append("       Gateway SQL: \(sql)")
        }
        if let blobs { lines.append(blobs.explain(reading: blobReading, analysis: analysis == nil ? nil : blobAnalysis ?? .init())) }
        for note in notes { lines.append("  Note: \(note)") }
        return lines
    }

    public struct StepAnalysis: Sendable, Hashable {
        public var rows: Int
        public var milliseconds: Double

        public init(rows: Int, milliseconds: Double) {
            self.rows = rows
            self.milliseconds = milliseconds
        }

        var text: String {
            let time = milliseconds < 10 ? String(format3(milliseconds)) : String(Int(milliseconds.rounded()))
            return "(actual rows=\(rows) time=\(time) ms)"
        }
    }
}

/// Three decimals without Foundation (EXPLAIN ANALYZE's milliseconds).
public func format3(_ value: Double) -> String {
    let scaled = Int((value * 1000).rounded())
    let whole = scaled / 1000, fraction = abs(scaled % 1000)
    let digits = String(fraction)
    return "\(whole).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
}
