import QueryPlanner

/// Runs a `SelectPlan` through the gateway: each step's SQL on its shards (concurrently, at most
/// `parallelShardReads` at a time), then the finish at the gateway. Memory is bounded by
/// `workMemBytes` over everything a statement holds at once (gathered rows, scratch tables).
struct SelectExecutor {
    let gateway: Gateway
    let consistency: Gateway.ReadConsistency
    let workMemBytes: Int
    /// The statement's $1…$n; each piece of SQL binds as many as it uses.
    let parameters: [SQLiteValue]
    /// The session's transaction block: its reads run inside it, see its writes and lock their
    /// shards until it ends (`consistency` does not apply to them).
    let transaction: GatewayTransaction?
    var parallelShardReads = 16
    /// The session's PostgreSQL functions, installed in the scratch database.
    var functions: PostgresFunctions?

    init(gateway: Gateway, consistency: Gateway.ReadConsistency, workMemBytes: Int, parameters: [SQLiteValue] = [],
         transaction: GatewayTransaction? = nil) {
        self.gateway = gateway
        self.transaction = transaction
        self.consistency = consistency
        self.workMemBytes = workMemBytes
        self.parameters = parameters
    }

    func bound(_ count: Int) throws -> [SQLiteValue] {
        guard count <= parameters.count else {
            throw SQLError(.init("42P02"), "there is no parameter $\(parameters.count + 1)")
        }
        return Array(parameters.prefix(count))
    }

    struct Output {
        var columns: [String]
        var rows: [[SQLiteValue]]
        /// Rows and time per step, then the finish (EXPLAIN ANALYZE).
        var analysis: [SelectPlan.StepAnalysis]
        /// Chunks the blob fetch read (EXPLAIN ANALYZE).
        var blobAnalysis = BlobStrategy.Analysis()
    }

    func run(_ plan: SelectPlan) async throws -> Output {
        var analysis: [SelectPlan.StepAnalysis] = []
        var fetched: [[Gateway.Rows]] = []
        var held = 0
        for step in plan.steps {
            let start = ContinuousClock.now
            let parts = try await fetch(step)
            let rows = parts.reduce(0) { $0 + $1.rows.count }
            held += parts.reduce(0) { total, part in total + part.rows.reduce(0) { $0 + $1.reduce(16) { $0 + $1.approximateSize } } }
            guard held <= workMemBytes else { throw SQLExecutionError.workMem(workMemBytes) }
            analysis.append(.init(rows: rows, milliseconds: Self.milliseconds(since: start)))
            fetched.append(parts)
        }
        let start = ContinuousClock.now
        var output: Output
        switch plan.finish {
        case .concatenate(let offset, let limit):
            let columns = fetched.first?.first?.columns ?? []
            var rows = fetched.flatMap { $0.flatMap(\.rows) }
            rows = Self.window(rows, offset: offset, limit: limit)
            output = Output(columns: columns, rows: rows, analysis: [])
        case .mergeSorted(let keys, let offset, let limit, let outputColumns):
            let parts = fetched.first ?? []
            var merge = SortedMerge(streams: parts.map(\.rows),
                                    keys: keys.map { .init(column: $0.column, descending: $0.descending, nullsFirst: $0.nullsFirst) })
            var rows: [[SQLiteValue]] = []
            var skipped = 0
            while limit.map({ rows.count < $0 }) ?? true, let row = merge.next() {
                if skipped < offset { skipped += 1; continue }
                rows.append(Array(row.prefix(outputColumns)))
            }
            let columns = Array((parts.first?.columns ?? []).prefix(outputColumns))
            output = Output(columns: columns, rows: rows, analysis: [])
        case .scratch(let sql, _, let parameterCount):
            let scratch: ScratchDatabase
            do {
                scratch = try ScratchDatabase(bytesMax: workMemBytes)
                if let functions { try scratch.install(functions) }
            } catch { throw SQLExecutionError.sqlite(error) }
            for (step, parts) in zip(plan.steps, fetched) {
                guard let table = step.scratchTable else { continue }
                do {
                    try scratch.createTable(table, columns: step.scratchColumns.map { ($0.name, $0.declaredType) })
                } catch { throw SQLExecutionError.sqlite(error) }
                for part in parts {
                    do { try scratch.insert(into: table, columns: step.scratchColumns.map(\.name), leadingRowID: step.leadingRowID, rows: part.rows) } catch { throw SQLExecutionError(error) }
                }
            }
            for definition in plan.scratchDefinitions {
                do { try scratch.define(definition) } catch { throw SQLExecutionError.sqlite(error) }
            }
            // The shards' copies are in the scratch database now.
            fetched = []
            let finishParameters = try bound(parameterCount)
            do {
                // A canceled statement (CancelRequest, statement_timeout, a closed connection)
                // stops SQLite at its next step instead of running its SQL to the end.
                try Task.checkCancellation()
                let interrupter = scratch.interrupter
                let result = try await withTaskCancellationHandler {
                    try scratch.query(sql, finishParameters)
                } onCancel: {
                    interrupter.interrupt()
                }
                output = Output(columns: result.columns, rows: result.rows, analysis: [])
            } catch let error as ScratchError {
                throw SQLExecutionError(error)
            }
        }
        analysis.append(.init(rows: output.rows.count, milliseconds: Self.milliseconds(since: start)))
        output.analysis = analysis
        return output
    }

    /// One step's shard results, in the step's shard order.
    private func fetch(_ step: SelectPlan.ShardStep) async throws -> [Gateway.Rows] {
        if step.isSystem {
            return [try gateway.systemTable(step.table)]
        }
        let stepParameters = try bound(step.parameterCount) + step.boundLiterals.map(SQLiteValue.init)
        let inTransaction = try await joinTransaction(step)
        @Sendable func read(_ shard: Int) async throws -> Gateway.Rows {
            if let (transaction, table) = inTransaction {
                return try await gateway.read(table, shard: UInt32(shard), sql: step.sql, parameters: stepParameters, in: transaction)
            }
            return try await gateway.read(table: step.table, shard: UInt32(shard), sql: step.sql, parameters: stepParameters, consistency: consistency)
        }
        // A point lookup reads one shard: in this task, without a child task to create and await.
        if step.shards.count == 1 { return [try await read(step.shards[0])] }
        var results = [Gateway.Rows?](repeating: nil, count: step.shards.count)
        try await withThrowingTaskGroup(of: (Int, Gateway.Rows).self) { group in
            var next = 0
            func launch() {
                let index = next, shard = step.shards[index]
                next += 1
                group.addTask { (index, try await read(shard)) }
            }
            while next < min(parallelShardReads, step.shards.count) { launch() }
            for try await (index, rows) in group {
                results[index] = rows
                if next < step.shards.count { launch() }
            }
        }
        return results.map { $0! }
    }

    /// The session's transaction block, begun in the group of the step's shards, and the table.
    private func joinTransaction(_ step: SelectPlan.ShardStep) async throws -> (GatewayTransaction, CatalogTable)? {
        guard let transaction else { return nil }
        let table = try await gateway.requireTable(step.table)
        try await gateway.join(transaction, table: table, shards: step.shards.map(UInt32.init))
        return (transaction, table)
    }

    static func window(_ rows: [[SQLiteValue]], offset: Int, limit: Int?) -> [[SQLiteValue]] {
        let start = min(offset, rows.count)
        let end = limit.map { min(rows.count, start + $0) } ?? rows.count
        return Array(rows[start..<end])
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}

/// Errors of executing a plan at the gateway, turned into SQLError by the session.
enum SQLExecutionError: Error {
    case workMem(Int)
    case sqlite(SQLiteError)

    init(_ error: ScratchError) {
        switch error {
        case .memoryLimit(let bytes): self = .workMem(bytes)
        case .sqlite(let sqlite): self = .sqlite(sqlite)
        }
    }
}
