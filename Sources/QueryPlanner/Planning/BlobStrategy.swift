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
    public static let outOfLineErrorPrefix = "JSON path error near '" + guardMessagePrefix
    /// How every guard's message begins (`guardColumn`).
    public static let guardMessagePrefix = "out-of-line value"
    /// What the SQL of every guard contains: the failing call with the start of its message.
    public static let guardMarker = "json_extract('{}', '" + guardMessagePrefix
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

    /// `select` with every use of a bytea column of `tables` guarded by `guardian` (see `BlobStrategy`), except
    /// the top-level outputs the gateway fetches, and the strategy for it (nil when the statement
    /// reads no bytea column).
    ///
    /// A fetched output leaves the shards as its reference, so nothing may compute over it there:
    /// an ORDER BY or GROUP BY term naming it by position or alias is replaced by the guarded
    /// column (it sorts inline values, and fails on a reference), and under DISTINCT nothing is
    /// fetched (the outputs stay guarded; a reference that `*` returns is refused at the gateway).
    static func guardingBlobs(_ select: Select, guardian: BlobGuard, tables: [PlannerTable]) -> (Select, BlobStrategy?) {
        guard !guardian.names.isEmpty else { return (select, nil) }
        var result = guardian.guarded(select)
        var fetched = fetchedOutputs(select, tables: tables)
        if case .select(let core) = select.body.first, core.distinct { fetched = [] }
        if !fetched.isEmpty, case .select(let core) = select.body.first, case .select(var guardedCore) = result.body.first {
            // The fetched outputs stay bare: the shards return their references.
            for index in Set(fetched.compactMap(\.item)) { guardedCore.items[index] = core.items[index] }
            let inputColumns = Set(tables.flatMap { $0.columns.map(\.name) })
            func outputNamed(_ term: Expression, isOrdering: Bool) -> Expression? {
                switch term.kind {
                case .literal(.integer(let ordinal)):
                    return fetched.first { $0.position == Int(ordinal) - 1 }.map { guardian.guardColumn(fetchedColumn($0, core: core), name: $0.name) }
                case .column(let reference) where reference.table == nil:
                    // GROUP BY prefers an input column to an output alias, ORDER BY the alias.
                    guard isOrdering || !inputColumns.contains(reference.column.name) else { return nil }
                    let output = fetched.first { entry in
                        guard let item = entry.item, case .expression(_, let alias?) = core.items[item] else { return false }
                        return alias.name == reference.column.name
                    }
                    return output.map { guardian.guardColumn(fetchedColumn($0, core: core), name: $0.name) }
                default:
                    return nil
                }
            }
            guardedCore.groupBy = guardedCore.groupBy.map { outputNamed($0, isOrdering: false) ?? $0 }
            result.body.first = .select(guardedCore)
            result.orderBy = result.orderBy.map { term in
                var term = term
                if let replaced = outputNamed(term.expression, isOrdering: true) { term.expression = replaced }
                return term
            }
        }
        let strategy = BlobStrategy(fetchedColumns: fetched.map(\.position), fetchedNames: fetched.map(\.name), byteaColumns: guardian.names.sorted())
        return (result, strategy)
    }

    /// The column a fetched output reads, as a reference the shards resolve: the item itself, or
    /// for an output of `*` / `t.*` the column qualified by its table's name in the FROM clause.
    private static func fetchedColumn(_ output: FetchedOutput, core: SelectCore) -> Expression {
        if let item = output.item, case .expression(let expression, _) = core.items[item] { return expression }
        return Expression(.column(ColumnReference(table: output.table.map { Identifier($0) }, Identifier(output.name))))
    }

    /// An output the gateway fetches: its position in the result, the select item (nil for one
    /// of `*` / `t.*`), the column's name, and for `*` / `t.*` the name its table has in FROM.
    typealias FetchedOutput = (position: Int, item: Int?, name: String, table: String?)

    /// The top-level outputs of `select` that are, certainly, bytea columns of a base table as
    /// stored: a bare column reference that resolves to one table of the FROM clause, or `*` and
    /// `t.*` over base tables. Anything less certain is not fetched (its reference, should one
    /// reach the result, is refused at the gateway).
    static func fetchedOutputs(_ select: Select, tables: [PlannerTable]) -> [FetchedOutput] {
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
        var found: [FetchedOutput] = []
        var position = 0
        for (index, item) in core.items.enumerated() {
            switch item {
            case .expression(let expression, _):
                if case .column(let reference) = expression.kind {
                    let candidates = reference.table.map { qualifier in named.filter { $0.name == qualifier.name } }
                        ?? (onlyBaseTables ? named.filter { $0.table.column(named: reference.column.name) != nil } : [])
                    if candidates.count == 1, candidates[0].table.column(named: reference.column.name)?.isBlob == true {
                        found.append((position, index, reference.column.name, nil))
                    }
                }
                position += 1
            case .wildcard:
                guard onlyBaseTables, !merged else { return found }
                for (name, table) in named {
                    for column in table.columns {
                        if column.isBlob { found.append((position, nil, column.name, name)) }
                        position += 1
                    }
                }
            case .tableWildcard(let qualifier):
                guard let table = named.first(where: { $0.name == qualifier.name })?.table else { return found }
                for column in table.columns {
                    if column.isBlob { found.append((position, nil, column.name, qualifier.name)) }
                    position += 1
                }
            }
        }
        return found
    }
}

/// The rewrite `BlobStrategy` describes, over every expression of a statement at any depth.
struct BlobGuard {
    /// The bytea columns' names: every column reference by one of them is guarded.
    let names: Set<String>
    let inlineMax: Int
    /// Those of `names` that some table of the statement also has as a column of another type.
    let sharedNames: Set<String>
    /// The tables of the statement by the name FROM gives them (alias, else table name).
    let tablesByQualifier: [String: [PlannerTable]]
    /// Names of CTEs and of subqueries in FROM anywhere in the statement: a qualifier among them
    /// may not mean the table of that name.
    let derivedNames: Set<String>

    /// A guard matching by name only: every column named in `names` is taken for a bytea column.
    init(names: Set<String>, inlineMax: Int) {
        self.names = names
        self.inlineMax = inlineMax
        sharedNames = []
        tablesByQualifier = [:]
        derivedNames = []
    }

    /// The guard of `statements` (a query and the views it reads), which read `uses`.
    init(uses: [SelectPlanner.TableUse], statements: [Select], inlineMax: Int) {
        let tables = uses.map(\.table)
        names = SelectPlanner.byteaColumnNames(tables)
        self.inlineMax = inlineMax
        sharedNames = names.intersection(tables.flatMap { $0.columns.filter { !$0.isBlob }.map(\.name) })
        tablesByQualifier = Dictionary(grouping: uses, by: { ($0.reference.alias ?? $0.reference.name).name }).mapValues { $0.map(\.table) }
        var derived: Set<String> = []
        // Without a bytea column there is nothing to guard, and no qualifier to tell apart
        // (a walk over every query of the statement, for each statement planned).
        for statement in statements where !names.isEmpty {
            Traversal.forEachCore(statement) { term, ctes in
                derived.formUnion(ctes)
                guard case .select(let core) = term, let from = core.from else { return }
                derived.formUnion(Self.subqueryAliases(from))
            }
        }
        derivedNames = derived
    }

    private static func subqueryAliases(_ from: FromClause) -> [String] {
        ([from.first] + from.joins.map(\.table)).flatMap { reference -> [String] in
            switch reference {
            case .subquery(_, let alias, _): alias.map { [$0.name] } ?? []
            case .nested(let inner, _): subqueryAliases(inner)
            case .table: []
            }
        }
    }

    func guarded(_ select: Select) -> Select {
        guard !names.isEmpty else { return select }
        return select.mappingParts(expression: guarded(_:), query: guarded(_:))
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
            case "count" where !call.distinct:
                // count(DISTINCT body) would compare stored forms (the same bytes inline in one
                // row and out of line in another count twice): guarded like any other use.
                return node
            case "length" where resolvesToBytea(column):
                return Self.ifReference(column, then: Self.referencedSize(column), else: node)
            case "octet_length" where resolvesToBytea(column):
                // SQLite before 3.43 has no octet_length(); a value's bytes are its length as a BLOB.
                let bytes = Self.call("length", [Expression(.cast(column, .named("blob")))])
                return Self.ifReference(column, then: Self.referencedSize(column), else: bytes)
            default:
                // Including length() of a column only named like a bytea column (notes.body,
                // text): the size a reference would spell is no answer for text that looks like one.
                return nil
            }
        default:
            return nil
        }
    }

    private func isByteaColumn(_ expression: Expression) -> Bool {
        if case .column(let reference) = expression.kind { return names.contains(reference.column.name) }
        return false
    }

    /// Whether `column` (a column named like a bytea column) certainly is one: no table of the
    /// statement has a column of another type by that name, or its qualifier names only tables
    /// where it is bytea.
    private func resolvesToBytea(_ column: Expression) -> Bool {
        guard case .column(let reference) = column.kind else { return false }
        guard sharedNames.contains(reference.column.name) else { return true }
        guard let qualifier = reference.table, !derivedNames.contains(qualifier.name),
              let tables = tablesByQualifier[qualifier.name], !tables.isEmpty else { return false }
        return tables.allSatisfy { $0.column(named: reference.column.name)?.isBlob == true }
    }

    /// `CASE WHEN <reference> THEN json_extract('{}', '<message>') ELSE column END`.
    func guardColumn(_ column: Expression, name: String) -> Expression {
        let message = BlobStrategy.guardMessagePrefix + ": column \(name) holds a value larger than blob_inline_max = \(inlineMax) bytes, kept in the chunk store;"
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
