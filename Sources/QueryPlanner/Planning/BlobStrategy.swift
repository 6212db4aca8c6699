/// The planner's blob strategy (docs/blobs.md, "Out-of-line SQL values"): a BYTEA/BLOB value
/// above blob_inline_max lives in the chunk store, and its row holds a *reference* — SQLite TEXT
/// beginning with `referencePrefix` — in place of the bytes. The gateway guarantees that every
/// other value of a bytea column is NULL or a BLOB, so TEXT in a bytea column is a reference
/// and nothing else.
///
/// The planner keeps the references away from every computation that would take them for the
/// value:
/// - a bytea column the statement returns as it is (`SELECT name, body FROM media`) comes back
///   from the shards as its reference and is fetched at the gateway (`fetchedColumns`);
/// - `length(c)` and `octet_length(c)` read the size the reference spells;
/// - `count(c)` and `c IS [NOT] NULL` see a non-NULL value, which is right;
/// - any other use of the column (comparison, `||`, substring, hashing, sorting, a subquery's
///   output) is guarded: on a reference, it fails with 0A000 naming the column and
///   blob_inline_max, and on an inline value it computes as before.
///
/// The shards run plain SQLite (no function of ours), and plain SQLite raises errors only from
/// built-in functions: the guard calls `json_extract('{}', <message>)`, whose path error carries
/// the message (`outOfLineErrorPrefix`), which the gateway turns into 0A000.
///
/// Columns are matched by name across the tables the statement reads, so a TEXT column that
/// shares its name with a bytea column is guarded too; that costs nothing unless one of its
/// values begins with the reference prefix, and then it is an error, never a wrong answer.
public struct BlobStrategy: Sendable, Hashable {
    /// Every reference begins with these characters: format version 1; then the value's size
    /// in bytes (decimal), ":", and the hex digits of the blob root.
    public static let referencePrefix = "meshdb-blob:1:"
    /// How a guarded use of a reference fails on SQLite: json_extract's path error, whose text
    /// follows this prefix.
    public static let outOfLineErrorPrefix = "JSON path error near 'out-of-line value"
    /// The message of a guarded use's failure without SQLite's wrapping (`JSON path error near
    /// '…'`); any other message as it is.
    public static func outOfLineMessage(_ message: String) -> String {
        let wrapper = "JSON path error near '"
        guard message.hasPrefix(outOfLineErrorPrefix), message.hasSuffix("'") else { return message }
        return String(message.dropFirst(wrapper.count).dropLast())
    }

    /// blob_inline_max's default: larger values leave the row.
    public static let inlineMaxDefault = 64 << 10

    /// Output columns (0-based) that are bytea columns as stored: the gateway fetches the values
    /// their references name, after the shard steps.
    public var fetchedColumns: [Int]
    /// Their names, for EXPLAIN.
    public var fetchedNames: [String]
    /// The bytea columns of the tables the statement reads, by name, sorted.
    public var byteaColumns: [String]

    public init(fetchedColumns: [Int], fetchedNames: [String], byteaColumns: [String]) {
        self.fetchedColumns = fetchedColumns
        self.fetchedNames = fetchedNames
        self.byteaColumns = byteaColumns
    }

    /// How the gateway reads the chunks, for EXPLAIN: the transfer's window and replicas.
    public struct Reading: Sendable, Hashable {
        public var windowChunks: Int
        public var replicas: Int

        public init(windowChunks: Int, replicas: Int) {
            self.windowChunks = windowChunks
            self.replicas = replicas
        }
    }

    /// What EXPLAIN ANALYZE counts: chunks and bytes read from the chunk stores.
    public struct Analysis: Sendable, Hashable {
        public var values: Int
        public var chunks: Int
        public var bytes: Int

        public init(values: Int = 0, chunks: Int = 0, bytes: Int = 0) {
            self.values = values
            self.chunks = chunks
            self.bytes = bytes
        }
    }

    /// EXPLAIN's line.
    func explain(reading: Reading, analysis: Analysis?) -> String {
        var line: String
        if fetchedColumns.isEmpty {
            line = "  -> Blob strategy: no bytea column returned (\(byteaColumns.joined(separator: ", ")) read as references only): no chunk read"
        } else {
            line = "  -> Blob fetch at gateway: \(fetchedNames.joined(separator: ", ")) — out-of-line values read from the chunk stores,"
                + " \(reading.windowChunks) chunks in parallel, next of \(reading.replicas) replicas on error, every chunk's SHA-256 checked"
        }
        if let analysis {
            line += "  (actual values=\(analysis.values) chunks read=\(analysis.chunks) bytes=\(analysis.bytes))"
        }
        return line
    }
}

extension SelectPlanner {
    /// The names of the bytea columns of `tables`.
    static func byteaColumnNames(_ tables: [PlannerTable]) -> Set<String> {
        Set(tables.flatMap { $0.columns.filter(\.isBlob).map(\.name) })
    }

    /// `select` with every use of a column named in `names` guarded (see `BlobStrategy`),
    /// except the top-level outputs the gateway fetches, and the strategy for it (nil when the
    /// statement reads no bytea column).
    static func guardingBlobs(_ select: Select, names: Set<String>, tables: [PlannerTable], inlineMax: Int) -> (Select, BlobStrategy?) {
        guard !names.isEmpty else { return (select, nil) }
        let fetched = fetchedOutputs(select, tables: tables)
        let guardian = BlobGuard(names: names, inlineMax: inlineMax)
        var result = guardian.guarded(select)
        if !fetched.isEmpty, case .select(let core) = select.body.first, case .select(var guardedCore) = result.body.first {
            // The fetched outputs stay bare: the shards return their references.
            for index in Set(fetched.compactMap(\.item)) { guardedCore.items[index] = core.items[index] }
            result.body.first = .select(guardedCore)
        }
        let strategy = BlobStrategy(fetchedColumns: fetched.map(\.position), fetchedNames: fetched.map(\.name), byteaColumns: names.sorted())
        return (result, strategy)
    }

    /// The top-level outputs of `select` that are, certainly, bytea columns of a base table as
    /// stored: a bare column reference that resolves to one table of the FROM clause, or `*` and
    /// `t.*` over base tables. Anything less certain is not fetched (its reference, should one
    /// reach the result, is refused at the gateway).
    static func fetchedOutputs(_ select: Select, tables: [PlannerTable]) -> [(position: Int, item: Int?, name: String)] {
        guard select.body.compounds.isEmpty, case .select(let core) = select.body.first, let from = core.from else { return [] }
        let ctes = Set(select.with.map(\.name.name))
        var named: [(name: String, table: PlannerTable)] = []
        var onlyBaseTables = true
        for reference in [from.first] + from.joins.map(\.table) {
            guard case .table(let table) = reference, !ctes.contains(table.name.name),
                  let planned = tables.first(where: { $0.name == table.name.name }) else {
                onlyBaseTables = false
                continue
            }
            named.append(((table.alias ?? table.name).name, planned))
        }
        let merged = from.joins.contains { if case .using = $0.constraint { true } else { false } }
        var found: [(position: Int, item: Int?, name: String)] = []
        var position = 0
        for (index, item) in core.items.enumerated() {
            switch item {
            case .expression(let expression, _):
                if case .column(let reference) = expression.kind {
                    let candidates = reference.table.map { qualifier in named.filter { $0.name == qualifier.name } }
                        ?? (onlyBaseTables ? named.filter { $0.table.column(named: reference.column.name) != nil } : [])
                    if candidates.count == 1, candidates[0].table.column(named: reference.column.name)?.isBlob == true {
                        found.append((position, index, reference.column.name))
                    }
                }
                position += 1
            case .wildcard:
                guard onlyBaseTables, !merged else { return found }
                for (_, table) in named {
                    for column in table.columns {
                        if column.isBlob { found.append((position, nil, column.name)) }
                        position += 1
                    }
                }
            case .tableWildcard(let qualifier):
                guard let table = named.first(where: { $0.name == qualifier.name })?.table else { return found }
                for column in table.columns {
                    if column.isBlob { found.append((position, nil, column.name)) }
                    position += 1
                }
            }
        }
        return found
    }
}

/// The rewrite `BlobStrategy` describes, over every expression of a statement at any depth.
struct BlobGuard {
    let names: Set<String>
    let inlineMax: Int

    func guarded(_ select: Select) -> Select {
        select.mappingParts(expression: guarded(_:), query: guarded(_:))
    }

    func guarded(_ expression: Expression) -> Expression {
        if let replaced = replacement(expression) { return replaced }
        return expression.mappingChildren(expression: guarded(_:), query: guarded(_:))
    }

    /// The node's replacement when it reads a bytea column, or nil to look below it.
    private func replacement(_ node: Expression) -> Expression? {
        switch node.kind {
        case .column(let reference) where names.contains(reference.column.name):
            return guardColumn(node, name: reference.column.name)
        case .isNull(let operand, _) where isByteaColumn(operand):
            return node
        case .function(let call) where call.arguments.expressions.count == 1 && isByteaColumn(call.arguments.expressions[0]):
            let column = call.arguments.expressions[0]
            switch call.name.name {
            case "count": return node
            case "length":
                return Self.ifReference(column, then: Self.referencedSize(column), else: node)
            case "octet_length":
                // SQLite before 3.43 has no octet_length(); a value's bytes are its length as a BLOB.
                let bytes = Self.call("length", [Expression(.cast(column, .named("blob")))])
                return Self.ifReference(column, then: Self.referencedSize(column), else: bytes)
            default: return nil
            }
        default:
            return nil
        }
    }

    private func isByteaColumn(_ expression: Expression) -> Bool {
        if case .column(let reference) = expression.kind { return names.contains(reference.column.name) }
        return false
    }

    /// `CASE WHEN <reference> THEN json_extract('{}', '<message>') ELSE column END`.
    private func guardColumn(_ column: Expression, name: String) -> Expression {
        let message = "out-of-line value: column \(name) holds a value larger than blob_inline_max = \(inlineMax) bytes, kept in the chunk store;"
            + " only returning it, length(), octet_length(), count() and IS NULL work on it"
        let failure = Self.call("json_extract", [.literal(.string("{}")), .literal(.string(message))])
        return Self.ifReference(column, then: failure, else: column)
    }

    static func ifReference(_ column: Expression, then reference: Expression, else value: Expression) -> Expression {
        let isText = Expression(.binary(.equal, call("typeof", [column]), .literal(.string("text"))))
        let prefix = BlobStrategy.referencePrefix
        let marked = Expression(.binary(.equal, call("substr", [column, .literal(.integer(1)), .literal(.integer(Int64(prefix.count)))]),
                                        .literal(.string(prefix))))
        return Expression(.caseWhen(operand: nil, branches: [CaseBranch(when: Expression(.binary(.and, isText, marked)), then: reference)],
                                    elseResult: value))
    }

    /// The size a reference spells: the digits between the prefix and the next ':'.
    static func referencedSize(_ column: Expression) -> Expression {
        let start = Expression.literal(.integer(Int64(BlobStrategy.referencePrefix.count + 1)))
        let rest = call("substr", [column, start])
        let colon = Expression(.binary(.subtract, call("instr", [rest, .literal(.string(":"))]), .literal(.integer(1))))
        return Expression(.cast(call("substr", [column, start, colon]), .named("integer")))
    }

    static func call(_ name: String, _ arguments: [Expression]) -> Expression {
        Expression(.function(FunctionCall(Identifier(name), .list(arguments))))
    }
}

extension SelectPlanner {
    /// `expression` (of an UPDATE or DELETE) with its uses of the bytea columns `names` guarded
    /// as a SELECT's are.
    public static func guardingByteaColumns(_ expression: Expression, names: Set<String>, inlineMax: Int) -> Expression {
        names.isEmpty ? expression : BlobGuard(names: names, inlineMax: inlineMax).guarded(expression)
    }
}
