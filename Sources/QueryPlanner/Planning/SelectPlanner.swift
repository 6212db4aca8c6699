/// Chooses how a SELECT runs across shards (DESIGN.md, "Read") and writes the SQL each shard and
/// the gateway run. The choice, per statement:
///
/// - One table, no subquery: the WHERE clause is searched for the shard key fixed to constants
///   (`k = 5`, `k IN (1, 2)`, a short integer `BETWEEN`); only those shards are read: a *point
///   lookup* when the whole primary key is fixed, a *shard-pruned scan* otherwise, a
///   *scatter-gather* over every shard when nothing is fixed. What can run on the shards does:
///   filters and projections always; ORDER BY with LIMIT as a per-shard top-N merged at the
///   gateway; aggregates as partial aggregates (count, sum, total, min, max; avg as total and
///   count) finished at the gateway; a GROUP BY holding the shard key entirely on the shards.
/// - Anything else (joins, subqueries, set operations, views, DISTINCT aggregates): a *gather*:
///   each table's rows, filtered on its shards where that is safe, are loaded into the gateway's
///   scratch SQLite, which runs the statement as written.
///
/// Every piece of SQL that a shard runs is deterministic (random() and the clock are evaluated
/// at the gateway), so f+1 replicas computing it agree.
public struct SelectPlanner: Sendable {
    public let catalog: any PlannerCatalog
    /// Most shard-key values a WHERE clause may be expanded to when pruning (an IN list, an
    /// integer BETWEEN); beyond it, every shard is read.
    public var pruningValuesMax = 256
    /// The statement's parameter values ($1…), used for pruning; the SQL keeps them as parameters.
    public var parameters: [PlannerValue]
    /// blob_inline_max, named in the error a guarded use of an out-of-line value gives.
    public var blobInlineMax = BlobStrategy.inlineMaxDefault

    public init(catalog: any PlannerCatalog, parameters: [PlannerValue] = []) {
        self.catalog = catalog
        self.parameters = parameters
    }

    /// Names that are functions whose value differs between evaluations: never pushed to shards.
    public static let nondeterministicFunctions: Set<String> = ["random", "randomblob", "now", "changes", "total_changes",
                                                         "last_insert_rowid", "date", "time", "datetime", "julianday",
                                                         "unixepoch", "strftime", "timediff", "current_setting"]
    /// Functions only the gateway defines (PostgreSQL's catalog and session functions, the regex
    /// operators' function): a statement calling one runs in the gateway's scratch database, with
    /// only its tables' rows gathered from the shards.
    public static let gatewayFunctions: Set<String> = [
        Parser.regexFunctionName, Parser.arrayContainsFunctionName, Parser.arrayElementFunctionName, Parser.seriesGuardFunctionName, "array_upper",
        "pg_relation_is_publishable", "pg_get_statisticsobjdef_columns", "version", "current_database", "current_catalog", "current_schema", "current_schemas",
        "current_user", "session_user", "current_role", "user", "pg_backend_pid", "current_setting", "pg_table_is_visible",
        "pg_is_in_recovery", "pg_get_userbyid", "format_type", "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef",
        "obj_description", "col_description", "shobj_description", "has_table_privilege", "has_schema_privilege",
        "has_database_privilege", "has_column_privilege", "has_function_privilege", "has_any_column_privilege",
        "pg_encoding_to_char", "array_to_string", "pg_advisory_unlock_all",
    ]

    /// True for a function that must not run on a shard: its value varies, or only the gateway has it.
    static func isGatewayOnly(_ name: String) -> Bool {
        nondeterministicFunctions.contains(name) || gatewayFunctions.contains(name)
    }
    static let aggregateFunctions: Set<String> = ["count", "sum", "avg", "min", "max", "total", "group_concat", "string_agg"]

    public func plan(_ written: Select) throws(SQLError) -> SelectPlan {
        let (references, views) = try baseTables(of: written)
        // The blob strategy first: every later step sees bytea columns guarded (BlobStrategy).
        let viewQueries = try views.map { view throws(SQLError) in try Self.parseView(view) }
        let guardian = BlobGuard(uses: references, statements: [written] + viewQueries, inlineMax: blobInlineMax)
        let (select, blobs) = Self.guardingBlobs(written, guardian: guardian, tables: references.map(\.table))
        var plan = try plan(select, references: references, views: zip(views, viewQueries.map(guardian.guarded(_:))).map { $0 })
        plan.blobs = blobs
        return plan
    }

    /// `views`: each view the statement reads with its query, guarded.
    private func plan(_ select: Select, references: [TableUse], views: [(view: PlannerView, query: Select)]) throws(SQLError) -> SelectPlan {
        if references.isEmpty && views.isEmpty {
            return SelectPlan(strategy: .constant, steps: [], finish: Self.scratchFinish(select, description: "Evaluate"))
        }
        if references.count == 1, views.isEmpty, !references[0].table.isSystem, references[0].reference.name.name == references[0].table.name,
           let single = try singleTablePlan(select, table: references[0]) {
            return single
        }
        var plan = try gatherPlan(select, references: references)
        plan.scratchDefinitions = views.map { view, query in
            SQLiteRenderer.render(.createView(CreateView(name: Identifier(view.name), columns: view.columns.map { Identifier($0) }, query: query)))
        }
        return plan
    }

    // MARK: Name resolution

    /// A table read by the statement, as named in it.
    public struct TableUse: Sendable {
        public var table: PlannerTable
        public var reference: NamedTable

        public init(table: PlannerTable, reference: NamedTable) {
            self.table = table
            self.reference = reference
        }
    }

    /// Every base table the statement reads, in order of appearance, with views expanded and CTE
    /// names skipped. A name that is neither a table, a view nor a CTE is an error at its position.
    func baseTables(of select: Select) throws(SQLError) -> (tables: [TableUse], views: [PlannerView]) {
        var uses: [TableUse] = []
        var views: [PlannerView] = []
        var failure: SQLError?
        var viewsExpanded: Set<String> = []
        func visit(_ select: Select, depth: Int) {
            Traversal.forEachCore(select) { term, ctes in
                guard failure == nil, case .select(let core) = term, let from = core.from else { return }
                for (named, _) in Traversal.namedTables(from) where !ctes.contains(named.name.name) {
                    if let table = catalog.table(named: named.name.name) {
                        uses.append(TableUse(table: table, reference: named))
                    } else if let view = catalog.view(named: named.name.name) {
                        guard depth < 16 else {
                            failure = SQLError(.init("54001"), "views nested more than 16 deep (at \(view.name))")
                            return
                        }
                        guard !viewsExpanded.contains(view.name) else { continue }
                        viewsExpanded.insert(view.name)
                        switch Result(catching: { () throws(SQLError) -> Select in try Self.parseView(view) }) {
                        case .success(let query):
                            visit(query, depth: depth + 1)
                            // After the views it reads: scratch definitions go in this order.
                            views.append(view)
                        case .failure(let error):
                            failure = error
                        }
                    } else {
                        failure = SQLError(.undefinedTable, "relation \"\(named.name.name)\" does not exist",
                                           position: named.name.location.offset + 1)
                    }
                }
            }
        }
        visit(select, depth: 0)
        if let failure { throw failure }
        return (uses, views)
    }

    static func parseView(_ view: PlannerView) throws(SQLError) -> Select {
        let statements = try Parser.parseStatements(view.sql)
        guard statements.count == 1, case .select(let select) = statements[0] else {
            throw SQLError(.internalError, "view \(view.name) does not hold one SELECT")
        }
        return select
    }

    // MARK: One table

    /// The plan for a statement over one table with no subquery, or nil when it needs a gather.
    func singleTablePlan(_ select: Select, table use: TableUse) throws(SQLError) -> SelectPlan? {
        guard select.with.isEmpty, select.body.compounds.isEmpty, case .select(var core) = select.body.first,
              let from = core.from, from.joins.isEmpty, case .table = from.first else { return nil }
        let table = use.table
        let hasSubquery = Traversal.contains(select) { expression in
            switch expression.kind {
            case .exists, .subquery, .inSubquery: true
            default: false
            }
        }
        guard !hasSubquery, !Self.hasNondeterminism(select) else { return nil }
        try checkColumns(core, table: use)
        core.items = expandWildcards(core.items, table: table)
        core = Self.resolveGroupByReferences(core)
        var shards = prunedShards(core.whereClause, use: use)
        // No shard can hold a matching row (`BETWEEN 9 AND 2`, `IN ()`): the statement still runs
        // on one shard, so its columns, and aggregates over no rows, come back as SQLite gives them.
        if shards.isEmpty { shards = [0] }
        let pointLookup = shards.count == 1 && fixesPrimaryKey(core.whereClause, use: use)
        let strategy: SelectPlan.Strategy = pointLookup ? .pointLookup
            : shards.count < table.shardCount ? .prunedScan : .scatterGather
        let aggregates = Self.aggregateCalls(in: core, orderBy: select.orderBy)
        for bound in [select.limit, select.offset].compactMap({ $0 }) {
            guard case .integer? = Self.literalValue(bound) else { return nil }
        }
        let offset = try Self.constantInteger(select.offset, clause: "OFFSET") ?? 0
        let limit = try Self.constantInteger(select.limit, clause: "LIMIT")

        // One shard holds every row the statement can see: it runs the whole statement.
        if shards.count == 1 {
            let step = Self.step(table, shards: shards, Select(body: SelectBody(.select(core)), orderBy: select.orderBy,
                                                               limit: select.limit, offset: select.offset))
            return SelectPlan(strategy: strategy, steps: [step], finish: .concatenate(offset: 0, limit: nil))
        }

        if !aggregates.isEmpty || !core.groupBy.isEmpty {
            // A GROUP BY holding the whole shard key: every group lives on one shard.
            if !table.shardKey.isEmpty, Set(table.shardKey).isSubset(of: Set(core.groupBy.compactMap { Self.columnName($0, use: use) })) {
                return try orderedOrConcatenated(select, core: core, use: use, shards: shards, strategy: strategy,
                                                 offset: offset, limit: limit, note: "groups hold the shard key: aggregated entirely on the shards")
            }
            if let plan = try twoPhaseAggregate(select, core: core, use: use, shards: shards, strategy: strategy, aggregates: aggregates) {
                return plan
            }
            return nil
        }
        if core.distinct {
            return nil
        }
        return try orderedOrConcatenated(select, core: core, use: use, shards: shards, strategy: strategy, offset: offset, limit: limit, note: nil)
    }

    /// Each shard runs the statement (with LIMIT raised to OFFSET + LIMIT); the gateway
    /// concatenates, or merges on the ORDER BY keys when there is one.
    private func orderedOrConcatenated(_ select: Select, core: SelectCore, use: TableUse, shards: [Int], strategy: SelectPlan.Strategy,
                                       offset: Int, limit: Int?, note: String?) throws(SQLError) -> SelectPlan? {
        let table = use.table
        var pushed = Select(body: SelectBody(.select(core)))
        let outputColumns = core.items.count
        if let limit { pushed.limit = .literal(.integer(Int64(min(Int64(Int32.max), Int64(offset) + Int64(limit))))) }
        var notes = note.map { [$0] } ?? []
        if select.orderBy.isEmpty {
            let step = Self.step(table, shards: shards, pushed)
            if limit != nil { notes.append("LIMIT pushed to every shard as \(offset + (limit ?? 0))") }
            return SelectPlan(strategy: strategy, steps: [step], finish: .concatenate(offset: offset, limit: limit), notes: notes)
        }
        // The sort keys travel as extra output columns after the select list, so that the merge
        // compares the values the shards sorted by.
        guard case .select(var withKeys) = pushed.body.first else { return nil }
        var keys: [SelectPlan.SortKey] = []
        var orderBy: [OrderingTerm] = []
        for term in select.orderBy {
            guard let keyExpression = Self.orderExpression(term.expression, items: core.items) else { return nil }
            if case .function(let call) = keyExpression.kind, call.name.name == "collate" { return nil }
            withKeys.items.append(.expression(keyExpression, alias: nil))
            let column = withKeys.items.count - 1
            let descending = term.direction == .descending
            let nullsFirst = term.nulls.map { $0 == .first } ?? !descending
            keys.append(.init(column: column, descending: descending, nullsFirst: nullsFirst))
            orderBy.append(OrderingTerm(.literal(.integer(Int64(column + 1))), direction: term.direction, nulls: term.nulls))
        }
        pushed.body = SelectBody(.select(withKeys))
        pushed.orderBy = orderBy
        let step = Self.step(table, shards: shards, pushed)
        notes.append(limit == nil ? "each shard sorts; the gateway merges the sorted streams"
                     : "top-N: each shard returns its first \(offset + (limit ?? 0)) rows in order; the gateway merges")
        return SelectPlan(strategy: strategy, steps: [step],
                          finish: .mergeSorted(keys: keys, offset: offset, limit: limit, outputColumns: outputColumns), notes: notes)
    }

    /// The expression an ORDER BY term sorts by: an ordinal or an output alias resolves to its
    /// select item. Nil when it cannot be resolved (the caller gathers instead).
    static func orderExpression(_ expression: Expression, items: [SelectItem]) -> Expression? {
        if case .literal(.integer(let ordinal)) = expression.kind {
            guard ordinal >= 1, ordinal <= items.count, case .expression(let item, _) = items[Int(ordinal) - 1] else { return nil }
            return item
        }
        if case .column(let reference) = expression.kind, reference.table == nil {
            for case .expression(let item, let alias?) in items where alias.name == reference.column.name {
                return item
            }
        }
        return expression
    }

    // MARK: Two-phase aggregation

    private struct Partial {
        var calls: [FunctionCall] = []
        var columns: [SelectItem] = []
    }

    /// Aggregates split in two: each shard computes partial aggregates per group; the gateway
    /// loads them into a scratch table and combines them (count and sum by sum, min by min…, avg as
    /// total / count). Nil when an aggregate cannot be split or a column is used outside of
    /// aggregates and groups (SQLite's "bare column"): the caller gathers the rows instead.
    private func twoPhaseAggregate(_ select: Select, core: SelectCore, use: TableUse, shards: [Int], strategy: SelectPlan.Strategy,
                                   aggregates: [FunctionCall]) throws(SQLError) -> SelectPlan? {
        let table = use.table
        let groups = core.groupBy.map { Self.unqualified($0) }
        var partialItems: [SelectItem] = []
        var scratchColumns: [SelectPlan.ScratchColumn] = []
        for (index, group) in groups.enumerated() {
            partialItems.append(.expression(group, alias: Identifier("g\(index + 1)")))
            scratchColumns.append(.init(name: "g\(index + 1)", declaredType: ""))
        }
        var combined: [FunctionCall: Expression] = [:]
        for call in aggregates {
            let call = Self.unqualified(call)
            guard combined[call] == nil else { continue }
            guard !call.distinct, let combine = addPartial(call, items: &partialItems, columns: &scratchColumns) else { return nil }
            combined[call] = combine
        }
        let aliases = Set(core.items.compactMap { item -> String? in
            if case .expression(_, let alias?) = item { return alias.name }
            return nil
        })
        let partialNames = Set(scratchColumns.map(\.name))
        var bare = false
        func finalExpression(_ expression: Expression) throws(SQLError) -> Expression {
            // Top-down, so an aggregate over a grouped column (`sum(c)` with GROUP BY c) becomes
            // its combined partials before `c` alone would become the group's column.
            let rewritten = Self.unqualified(expression).replacing { node -> Expression? in
                if let index = groups.firstIndex(of: node) { return .column("g\(index + 1)") }
                if case .function(let call) = node.kind, let combine = combined[call] { return combine }
                return nil
            }
            // Whatever column is left is neither grouped nor aggregated: SQLite's "bare column",
            // whose value comes from some row of the group. Only a gather reproduces that.
            rewritten.forEach(intoSubqueries: false) { node in
                if case .column(let reference) = node.kind, !partialNames.contains(reference.column.name),
                   !aliases.contains(reference.column.name) {
                    bare = true
                }
            }
            return rewritten
        }
        var final = core
        final.items = []
        for item in core.items {
            guard case .expression(let expression, let alias) = item else { return nil }
            final.items.append(.expression(try finalExpression(expression), alias: alias ?? Self.outputAlias(expression)))
        }
        final.whereClause = nil
        final.groupBy = groups.indices.map { .column("g\($0 + 1)") }
        final.having = try core.having.map { e throws(SQLError) in try finalExpression(e) }
        final.from = FromClause(.table(NamedTable(Identifier("partials"))))
        var finalSelect = Select(body: SelectBody(.select(final)), limit: select.limit, offset: select.offset)
        for term in select.orderBy {
            var rewritten = term
            rewritten.expression = try finalExpression(term.expression)
            finalSelect.orderBy.append(rewritten)
        }
        guard !bare else { return nil }
        var partial = core
        partial.items = partialItems
        partial.having = nil
        partial.distinct = false
        let step = Self.step(table, shards: shards, Select(body: SelectBody(.select(partial))),
                             scratchTable: "partials", scratchColumns: scratchColumns)
        return SelectPlan(strategy: strategy, steps: [step],
                          finish: Self.scratchFinish(finalSelect, description: "Combine partial aggregates"),
                          notes: ["partial aggregates pushed to every shard: \(aggregates.map(Self.describe).joined(separator: ", "))"])
    }

    /// Adds the partial aggregate columns for `call`; returns the expression combining them.
    private func addPartial(_ call: FunctionCall, items: inout [SelectItem], columns: inout [SelectPlan.ScratchColumn]) -> Expression? {
        func add(_ function: String, _ arguments: FunctionArguments) -> Expression {
            let name = "p\(columns.count + 1)"
            items.append(.expression(Expression(.function(FunctionCall(Identifier(function), arguments))), alias: Identifier(name)))
            columns.append(.init(name: name, declaredType: ""))
            return .column(name)
        }
        func combine(_ function: String, _ column: Expression) -> Expression {
            Expression(.function(FunctionCall(Identifier(function), .list([column]))))
        }
        let name = call.name.name
        switch (name, call.arguments) {
        case ("count", .star): return combine("sum", add("count", .star))
        case ("count", .list(let arguments)) where arguments.count == 1: return combine("sum", add("count", call.arguments))
        case ("sum", .list(let arguments)) where arguments.count == 1: return combine("sum", add("sum", call.arguments))
        case ("total", .list(let arguments)) where arguments.count == 1: return combine("total", add("total", call.arguments))
        case ("min", .list(let arguments)) where arguments.count == 1: return combine("min", add("min", call.arguments))
        case ("max", .list(let arguments)) where arguments.count == 1: return combine("max", add("max", call.arguments))
        case ("avg", .list(let arguments)) where arguments.count == 1:
            let sum = combine("total", add("total", call.arguments))
            let count = combine("sum", add("count", call.arguments))
            let zero = Expression.literal(.integer(0))
            // SQLite's avg is NULL over no values.
            return Expression(.caseWhen(operand: nil,
                                        branches: [CaseBranch(when: Expression(.binary(.greater, count, zero)),
                                                              then: Expression(.binary(.divide, sum, count)))],
                                        elseResult: nil))
        default:
            return nil
        }
    }

    static func describe(_ call: FunctionCall) -> String {
        switch call.arguments {
        case .star: "\(call.name.name)(*)"
        case .list(let arguments): "\(call.name.name)(\(call.distinct ? "DISTINCT " : "")\(arguments.map(SQLiteRenderer.render).joined(separator: ", ")))"
        }
    }

    /// The name SQLite gives an output column without an alias is its expression's text; the
    /// final phase computes it from other columns, so it keeps the original text as an alias.
    static func outputAlias(_ expression: Expression) -> Identifier? {
        if case .column(let reference) = expression.kind { return reference.column }
        return nil
    }

    // MARK: Gather

    func gatherPlan(_ select: Select, references: [TableUse]) throws(SQLError) -> SelectPlan {
        var seen: Set<String> = []
        var steps: [SelectPlan.ShardStep] = []
        let counts = Dictionary(references.map { ($0.table.name, 1) }, uniquingKeysWith: +)
        let pushable = Self.pushableConjuncts(select, references: references)
        for use in references where !seen.contains(use.table.name) {
            seen.insert(use.table.name)
            let table = use.table
            var core = SelectCore(items: table.columns.map { .expression(.column($0.name), alias: nil) },
                                  from: FromClause(.table(NamedTable(Identifier(table.name), alias: use.reference.alias))))
            var shards = Array(0..<table.shardCount)
            if table.isSystem {
                steps.append(SelectPlan.ShardStep(
                    table: table.name, shardCount: 0, shards: [], sql: "system table \(table.name) from the gateway's catalog replica",
                    scratchTable: table.name, scratchColumns: table.columns.map { .init(name: $0.name, declaredType: $0.sqliteType) },
                    isSystem: true))
                continue
            }
            if counts[table.name] == 1, let filters = pushable[table.name], !filters.isEmpty {
                core.whereClause = filters.dropFirst().reduce(filters[0]) { Expression(.binary(.and, $0, $1)) }
                shards = prunedShards(core.whereClause, use: use)
            }
            if table.routedByRowID {
                core.items.insert(.expression(.column("rowid"), alias: nil), at: 0)
            }
            var step = Self.step(table, shards: shards, Select(body: SelectBody(.select(core))), scratchTable: table.name,
                                 scratchColumns: table.columns.map { .init(name: $0.name, declaredType: $0.sqliteType) })
            step.leadingRowID = table.routedByRowID
            steps.append(step)
        }
        return SelectPlan(strategy: .gather, steps: steps,
                          finish: Self.scratchFinish(select, description: "Run the statement on the gathered rows"))
    }

    /// Conjuncts of the top-level WHERE that each shard of a table may apply before its rows are
    /// gathered: the statement is one SELECT core, the table is in its FROM once and not on the
    /// nullable side of a LEFT JOIN, and the conjunct reads only that table's columns, with no
    /// subquery and nothing non-deterministic.
    static func pushableConjuncts(_ select: Select, references: [TableUse]) -> [String: [Expression]] {
        guard select.body.compounds.isEmpty, select.with.isEmpty, case .select(let core) = select.body.first,
              let from = core.from, let whereClause = core.whereClause else { return [:] }
        let level = Traversal.namedTables(from)
        var result: [String: [Expression]] = [:]
        for conjunct in conjuncts(whereClause) {
            var owner: String?
            var ok = true
            conjunct.forEach(intoSubqueries: false) { node in
                if !node.subqueries.isEmpty { ok = false }
                switch node.kind {
                case .column(let reference):
                    let candidates = level.filter { entry in
                        if let qualifier = reference.table {
                            return (entry.table.alias ?? entry.table.name).name == qualifier.name
                        }
                        return references.first { $0.table.name == entry.table.name.name }?.table.column(named: reference.column.name) != nil
                    }
                    guard candidates.count == 1, !candidates[0].nullable,
                          let table = references.first(where: { $0.table.name == candidates[0].table.name.name })?.table,
                          table.column(named: reference.column.name) != nil else { ok = false; return }
                    if owner == nil { owner = table.name } else if owner != table.name { ok = false }
                case .function(let call) where isGatewayOnly(call.name.name) || aggregateFunctions.contains(call.name.name):
                    ok = false
                case .currentTime, .parameter:
                    ok = false
                default:
                    break
                }
            }
            if ok, let owner { result[owner, default: []].append(conjunct) }
        }
        return result
    }

    // MARK: Shard pruning

    static func conjuncts(_ expression: Expression) -> [Expression] {
        if case .binary(.and, let lhs, let rhs) = expression.kind { return conjuncts(lhs) + conjuncts(rhs) }
        return [expression]
    }

    /// The shard-key column `expression` names, if it names one of `use`'s columns.
    static func columnName(_ expression: Expression, use: TableUse) -> String? {
        guard case .column(let reference) = expression.kind else { return nil }
        if let qualifier = reference.table, qualifier.name != (use.reference.alias ?? use.reference.name).name { return nil }
        return use.table.column(named: reference.column.name)?.name
    }

    /// Values `column` is fixed to by `conjunct`, after the column's affinity; nil if not fixed.
    func fixedValues(of column: PlannerColumn, in conjunct: Expression, use: TableUse) -> [PlannerValue]? {
        func isColumn(_ expression: Expression) -> Bool { Self.columnName(expression, use: use) == column.name }
        func literal(_ expression: Expression) -> PlannerValue? {
            var found = Self.literalValue(expression)
            if case .parameter(let index) = expression.kind, index >= 1, index <= parameters.count { found = parameters[index - 1] }
            guard let value = found, value != .null else { return nil }
            return column.affinity.convertedExactly(value)
        }
        switch conjunct.kind {
        case .binary(.equal, let lhs, let rhs), .binary(.is, let lhs, let rhs):
            if isColumn(lhs), let value = literal(rhs) { return [value] }
            if isColumn(rhs), let value = literal(lhs) { return [value] }
        case .inList(let operand, let list, negated: false) where isColumn(operand):
            var values: [PlannerValue] = []
            for item in list {
                guard let value = literal(item) else { return nil }
                if !values.contains(value) { values.append(value) }
            }
            return values.count <= pruningValuesMax ? values : nil
        case .between(let operand, let low, let high, negated: false) where isColumn(operand) && column.affinity == .integer:
            guard case .integer(let from)? = literal(low), case .integer(let to)? = literal(high) else { return nil }
            guard to >= from else { return [] }
            guard to.subtractingReportingOverflow(from).partialValue < Int64(pruningValuesMax) else { return nil }
            return (from...to).map { .integer($0) }
        default:
            break
        }
        return nil
    }

    /// Shards that can hold rows satisfying `whereClause`, ascending.
    public func prunedShards(_ whereClause: Expression?, use: TableUse) -> [Int] {
        let table = use.table
        let all = Array(0..<table.shardCount)
        guard let whereClause, !table.shardKey.isEmpty else { return all }
        let parts = Self.conjuncts(whereClause)
        var valueSets: [[PlannerValue]] = []
        for keyName in table.shardKey {
            guard let column = table.column(named: keyName),
                  let values = parts.lazy.compactMap({ self.fixedValues(of: column, in: $0, use: use) }).first else { return all }
            valueSets.append(values)
        }
        var combinations: [[PlannerValue]] = [[]]
        for values in valueSets {
            combinations = combinations.flatMap { prefix in values.map { prefix + [$0] } }
            guard combinations.count <= pruningValuesMax else { return all }
        }
        return Set(combinations.map { catalog.shard(of: table, key: $0) }).sorted()
    }

    /// True when `whereClause` fixes every primary-key column to one value.
    func fixesPrimaryKey(_ whereClause: Expression?, use: TableUse) -> Bool {
        guard let whereClause, !use.table.primaryKey.isEmpty else { return false }
        let parts = Self.conjuncts(whereClause)
        return use.table.primaryKey.allSatisfy { name in
            guard let column = use.table.column(named: name) else { return false }
            return parts.contains { fixedValues(of: column, in: $0, use: use)?.count == 1 }
        }
    }

    /// The value of a literal, or of a negated numeric literal.
    static func literalValue(_ expression: Expression) -> PlannerValue? {
        switch expression.kind {
        case .literal(let literal):
            switch literal {
            case .null: return .null
            case .boolean(let value): return .integer(value ? 1 : 0)
            case .integer(let value): return .integer(value)
            case .real(let value): return .real(value)
            case .string(let value): return .text(value)
            case .blob(let value): return .blob(value)
            }
        case .unary(.negate, let operand):
            switch literalValue(operand) {
            case .integer(let value)? where value != Int64.min: return .integer(-value)
            case .real(let value)?: return .real(-value)
            default: return nil
            }
        case .unary(.plus, let operand):
            return literalValue(operand)
        default:
            return nil
        }
    }

    // MARK: Helpers

    /// A shard step running `select`, with its parameter count.
    static func step(_ table: PlannerTable, shards: [Int], _ select: Select, scratchTable: String? = nil,
                     scratchColumns: [SelectPlan.ScratchColumn] = []) -> SelectPlan.ShardStep {
        let parameterCount = Traversal.parameterCount(select)
        let (sent, boundLiterals) = KeyLiteralBinding.bind(select, keyColumns: Set(table.primaryKey), parameterCount: parameterCount)
        var step = SelectPlan.ShardStep(table: table.name, shardCount: table.shardCount, shards: shards, sql: SQLiteRenderer.render(sent),
                                        scratchTable: scratchTable, scratchColumns: scratchColumns)
        step.parameterCount = parameterCount
        step.boundLiterals = boundLiterals
        return step
    }

    static func scratchFinish(_ select: Select, description: String) -> SelectPlan.Finish {
        .scratch(sql: SQLiteRenderer.render(select), description: description, parameterCount: Traversal.parameterCount(select))
    }

    /// LIMIT and OFFSET as constants; a non-constant one makes the statement gather.
    static func constantInteger(_ expression: Expression?, clause: String) throws(SQLError) -> Int? {
        guard let expression else { return nil }
        guard case .integer(let value)? = literalValue(expression) else {
            throw SQLError(.featureNotSupported, "\(clause) must be an integer constant", position: expression.location.offset + 1)
        }
        // SQLite: a negative LIMIT means no limit, a negative OFFSET is zero.
        if value < 0 { return clause == "LIMIT" ? nil : 0 }
        return Int(min(value, Int64(Int32.max)))
    }

    static func hasNondeterminism(_ select: Select) -> Bool {
        Traversal.contains(select) { expression in
            switch expression.kind {
            case .function(let call): isGatewayOnly(call.name.name)
            case .currentTime: true
            default: false
            }
        }
    }

    /// Aggregate calls in the select list, HAVING and ORDER BY (not inside subqueries).
    static func aggregateCalls(in core: SelectCore, orderBy: [OrderingTerm]) -> [FunctionCall] {
        var calls: [FunctionCall] = []
        var expressions: [Expression] = []
        for item in core.items { if case .expression(let expression, _) = item { expressions.append(expression) } }
        expressions += [core.having].compactMap { $0 } + orderBy.map(\.expression)
        for expression in expressions {
            expression.forEach(intoSubqueries: false) { node in
                if case .function(let call) = node.kind, isAggregate(call), !calls.contains(call) { calls.append(call) }
            }
        }
        return calls
    }

    static func isAggregate(_ call: FunctionCall) -> Bool {
        guard aggregateFunctions.contains(call.name.name) else { return false }
        // min(a, b) and max(a, b) are SQLite's scalar functions.
        if call.name.name == "min" || call.name.name == "max" { return call.arguments.expressions.count == 1 }
        return true
    }

    /// `t.a` → `a`, for comparing expressions of a single-table statement.
    static func unqualified(_ expression: Expression) -> Expression {
        expression.rewritten(intoSubqueries: false) { node in
            if case .column(var reference) = node.kind, reference.table != nil {
                reference.table = nil
                return Expression(.column(reference), at: node.location)
            }
            return node
        }
    }

    static func unqualified(_ call: FunctionCall) -> FunctionCall {
        guard case .function(let rewritten) = unqualified(Expression(.function(call))).kind else { return call }
        return rewritten
    }

    /// GROUP BY 1 and GROUP BY alias name select items.
    static func resolveGroupByReferences(_ core: SelectCore) -> SelectCore {
        var core = core
        core.groupBy = core.groupBy.map { term in
            if case .literal(.integer(let ordinal)) = term.kind, ordinal >= 1, ordinal <= core.items.count,
               case .expression(let item, _) = core.items[Int(ordinal) - 1] {
                return item
            }
            if case .column(let reference) = term.kind, reference.table == nil {
                for case .expression(let item, let alias?) in core.items where alias.name == reference.column.name {
                    return item
                }
            }
            return term
        }
        return core
    }

    /// `*` and `t.*` as the table's columns, so that the planner knows the output's width.
    func expandWildcards(_ items: [SelectItem], table: PlannerTable) -> [SelectItem] {
        items.flatMap { item -> [SelectItem] in
            switch item {
            case .wildcard, .tableWildcard: table.columns.map { .expression(.column($0.name), alias: nil) }
            case .expression: [item]
            }
        }
    }

    /// Column references of a one-table statement must name the table's columns (or an output
    /// alias): an unknown one is 42703 at its position, before any shard is asked.
    func checkColumns(_ core: SelectCore, table use: TableUse) throws(SQLError) {
        let aliases = Set(core.items.compactMap { item -> String? in
            if case .expression(_, let alias?) = item { return alias.name }
            return nil
        })
        let tableName = (use.reference.alias ?? use.reference.name).name
        var failure: SQLError?
        for expression in Traversal.expressions(of: core) {
            expression.forEach(intoSubqueries: false) { node in
                guard failure == nil, case .column(let reference) = node.kind else { return }
                if let qualifier = reference.table, qualifier.name != tableName {
                    failure = SQLError(.init("42P01"), "missing FROM-clause entry for table \"\(qualifier.name)\"",
                                       position: qualifier.location.offset + 1)
                } else if use.table.column(named: reference.column.name) == nil, reference.column.name != "rowid",
                          reference.table != nil || !aliases.contains(reference.column.name) {
                    failure = SQLError(.undefinedColumn, "column \"\(reference.column.name)\" does not exist",
                                       position: reference.column.location.offset + 1)
                }
            }
        }
        if case .tableWildcard(let qualifier)? = core.items.first(where: { if case .tableWildcard = $0 { true } else { false } }),
           qualifier.name != tableName {
            throw SQLError(.init("42P01"), "missing FROM-clause entry for table \"\(qualifier.name)\"", position: qualifier.location.offset + 1)
        }
        if let failure { throw failure }
    }
}
