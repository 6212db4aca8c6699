public import QueryPlanner
import Synchronization

/// What one statement returned: PostgreSQL's command tag ("SELECT 3", "INSERT 0 1"), and the
/// columns and rows of a statement that returns rows.
public struct SQLResult: Sendable, Hashable {
    public var tag: String
    public var columns: [String]
    /// The PostgreSQL type of each column, as RowDescription should name it: one per column, nil
    /// where it is not known statically (the wire server then infers it from the values).
    public var columnTypes: [PostgresType?]
    public var rows: [[SQLiteValue]]
    /// What a SET, RESET ALL or DISCARD ALL changed: each setting's name as written and its
    /// value as SHOW shows it, for the wire server to report the ones clients track
    /// (ParameterStatus).
    public var changedSettings: [ChangedSetting]

    public struct ChangedSetting: Sendable, Hashable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `columnTypes` of a count other than `columns`' is taken as unknown.
    public init(tag: String, columns: [String] = [], columnTypes: [PostgresType?] = [], rows: [[SQLiteValue]] = [],
                changedSettings: [ChangedSetting] = []) {
        self.tag = tag
        self.columns = columns
        self.columnTypes = columnTypes.count == columns.count ? columnTypes : Array(repeating: nil, count: columns.count)
        self.rows = rows
        self.changedSettings = changedSettings
    }
}

/// A SQL session on a gateway: parses statements, plans them against the catalog and runs them
/// across the cluster. The PostgreSQL wire server keeps one per connection; tests and tools use
/// it directly. Settings (SET) live as long as the session.
///
/// Every error leaves as an `SQLError` with a SQLSTATE, and with the character position in the
/// statement when it points at the text.
public actor SQLSession {
    public nonisolated let gateway: Gateway
    var settings = SessionSettings() {
        didSet { statementTimeoutSetting.withLock { $0 = settings.statementTimeoutMillis } }
    }
    /// statement_timeout as last SET, for the wire server to read when a statement starts
    /// without waiting for the actor (0: none).
    private nonisolated let statementTimeoutSetting: Mutex<UInt64>
    /// The session's statement_timeout, nil when it has none.
    public nonisolated var statementTimeout: Duration? {
        let millis = statementTimeoutSetting.withLock { $0 }
        return millis == 0 ? nil : .milliseconds(millis)
    }
    /// The settings as the session started: what SET … TO DEFAULT and RESET return to.
    let settingsAtStart: SessionSettings
    /// CREATE TEMP VIEW: views of this session only, gone when it ends (never replicated).
    var temporaryViews: [String: PlannerView] = [:] {
        didSet { describeCache = [:] }
    }
    /// Describe results (columns and their types) by statement text and parameter count, each
    /// valid for the catalog version it was computed at: drivers that Parse and Describe an unnamed
    /// statement for every query (postgres-nio, asyncpg) would otherwise pay a read of every shard
    /// per query. Emptied when a temporary view changes; at most `describeCacheMax` entries.
    private var describeCache: [DescribeKey: SQLResult] = [:]
    static let describeCacheMax = 256
    static let describeRowsKept = 16

    private struct DescribeKey: Hashable {
        let sql: String
        let parameterCount: Int
        let catalogVersion: UInt64
    }
    /// The open transaction block (BEGIN … COMMIT), if any: `SQLSession+Transactions.swift`.
    var transaction: GatewayTransaction?
    /// Whether a statement of the open block failed: until ROLLBACK, statements get 25P02.
    var transactionFailed = false
    /// Most temporary views one session may hold.
    public static let temporaryViewsMax = 1_000
    /// Tables created without SHARDS n get this many shards.
    public static let defaultShardCount = 8
    /// Longest statement text accepted (statement_bytes_max). psycopg2 and other drivers that
    /// bind parameters client-side send a bytea value inside the text as hex: a 100 MiB value is
    /// a 200 MiB statement. Long literals never reach SQLite as text (`bindingLongLiterals`).
    public static let statementBytesMax = 256 << 20

    /// pg_backend_pid(): the wire server's id for this session (BackendKeyData's process id).
    public nonisolated let backendPID: Int32
    /// current_user and session_user: the role the session authenticated as.
    public nonisolated let user: String

    public init(gateway: Gateway, backendPID: Int32 = 0, user: String = PostgresCatalog.ownerName) {
        self.init(gateway: gateway, backendPID: backendPID, user: user, settings: SessionSettings())
    }

    /// A session with the settings a client's startup packet asked for, applied in order as SET
    /// applies them: a value SET would refuse refuses the session with the same error.
    public init(gateway: Gateway, backendPID: Int32, user: String, startupSettings: [(name: String, value: String)]) throws(SQLError) {
        var settings = SessionSettings()
        for setting in startupSettings { try settings.set(setting.name, to: setting.value) }
        self.init(gateway: gateway, backendPID: backendPID, user: user, settings: settings)
    }

    init(gateway: Gateway, backendPID: Int32, user: String, settings: SessionSettings) {
        self.gateway = gateway
        self.backendPID = backendPID
        self.user = user
        self.settings = settings
        self.settingsAtStart = settings
        self.statementTimeoutSetting = Mutex(settings.statementTimeoutMillis)
    }

    /// Runs every statement of `sql` in order and returns one result per statement; stops at the
    /// first error (statements before it have taken effect, as in PostgreSQL's simple query
    /// outside a transaction block). `parameters` bind `$1`, `$2`…
    public func execute(_ sql: String, parameters: [SQLiteValue] = []) async throws(SQLError) -> [SQLResult] {
        let statements: [Statement]
        do throws(SQLError) {
            guard sql.utf8.count <= Self.statementBytesMax else {
                throw SQLError(.programLimitExceeded, "statement of \(sql.utf8.count) bytes exceeds statement_bytes_max = \(Self.statementBytesMax)")
            }
            statements = try Parser.parseStatements(sql, limits: Parser.Limits(statementBytesMax: Self.statementBytesMax))
        } catch {
            // As in PostgreSQL, a statement that does not even parse aborts the open block.
            try refuseIfTransactionFailed()
            await failTransaction()
            throw error
        }
        var results: [SQLResult] = []
        for statement in statements {
            results.append(try await run(statement, text: sql, parameters: parameters))
        }
        return results
    }

    /// Plans `sql` (one SELECT) without running it: for tests and tools.
    public func plan(_ sql: String) async throws(SQLError) -> SelectPlan {
        let statements = try Parser.parseStatements(sql)
        guard statements.count == 1, case .select(let select) = statements[0] else {
            throw SQLError(.featureNotSupported, "plan takes one SELECT statement")
        }
        return try await planner().plan(select)
    }

    func run(_ statement: Statement, text: String, parameters: [SQLiteValue]) async throws(SQLError) -> SQLResult {
        if case .transaction(let control) = statement { return try await runTransactionControl(control) }
        try refuseIfTransactionFailed()
        do {
            try refuseDDLInBusyBlock(statement)
            // The block, if any, learns the out-of-line values the statement stores (COMMIT
            // refreshes their chunks).
            return try await Gateway.$storingFor.withValue(transaction) { try await dispatch(statement, parameters: parameters) }
        } catch {
            let sqlError = Self.sqlError(error, settings: settings)
            await failTransaction()
            throw sqlError
        }
    }

    /// DEALLOCATE, DISCARD, CLOSE, UNLISTEN (`SessionCommand`). The wire server's protocol-level
    /// prepared statements are its own; a simple-query DEALLOCATE of one never reaches here.
    func runSessionCommand(_ command: SessionCommand) throws(SQLError) -> SQLResult {
        switch command.kind {
        case .deallocate(let name?):
            throw SQLError(SQLState("26000"), "prepared statement \"\(name.name)\" does not exist")
        case .close(let name?):
            throw SQLError(SQLState("34000"), "cursor \"\(name.name)\" does not exist")
        case .deallocate(nil), .close(nil), .unlisten, .discard(.plans), .discard(.sequences):
            break
        case .discard(.temporary):
            temporaryViews = [:]
        case .discard(.all):
            guard transaction == nil else {
                throw SQLError(SQLState("25001"), "DISCARD ALL cannot run inside a transaction block")
            }
            temporaryViews = [:]
            settings = settingsAtStart
            return SQLResult(tag: command.tag, changedSettings: allSettings)
        }
        return SQLResult(tag: command.tag)
    }

    /// Every setting and its value, in name order (after RESET ALL and DISCARD ALL).
    private var allSettings: [SQLResult.ChangedSetting] {
        settings.all.map { SQLResult.ChangedSetting(name: $0.name, value: $0.value) }
    }

    /// The value `name` had when the session started (the startup packet's, else the server's),
    /// nil for a setting it does not know: what the wire server reports after authentication.
    public nonisolated func valueAtStart(of name: String) -> String? {
        try? settingsAtStart.show(name)
    }

    static func sqlError(_ error: any Error, settings: SessionSettings) -> SQLError {
        switch error {
        case let error as SQLError:
            error
        case let error as GatewayError:
            SQLError(SQLState(error.sqlState), BlobStrategy.outOfLineMessage(error.message))
        case let error as SQLExecutionError:
            error.sqlError(settings: settings)
        case let error as SQLiteError:
            // The gateway's scratch evaluation of a write (constraints of the table's copy).
            SQLExecutionError.sqlite(error).sqlError(settings: settings)
        default:
            SQLError(.internalError, "\(error)")
        }
    }

    private func dispatch(_ statement: Statement, parameters: [SQLiteValue]) async throws -> SQLResult {
        switch statement {
        case .select(let select):
            return try await selectResult(select, parameters: parameters)
        case .insert(let insert):
            return try await WriteExecutor(session: self).insert(insert, parameters: parameters)
        case .update(let update):
            return try await WriteExecutor(session: self).update(update, parameters: parameters)
        case .delete(let delete):
            return try await WriteExecutor(session: self).delete(delete, parameters: parameters)
        case .createTable(let create):
            try await DDLExecutor(session: self).createTable(create)
            return SQLResult(tag: "CREATE TABLE")
        case .createIndex(let create):
            try await DDLExecutor(session: self).createIndex(create)
            return SQLResult(tag: "CREATE INDEX")
        case .createView(let create):
            try await DDLExecutor(session: self).createView(create)
            return SQLResult(tag: "CREATE VIEW")
        case .drop(let drop):
            try await DDLExecutor(session: self).drop(drop)
            return SQLResult(tag: "DROP \(drop.objectKind.rawValue)")
        case .reindex(let reindex):
            try await DDLExecutor(session: self).reindex(reindex)
            return SQLResult(tag: "REINDEX")
        case .alterTable(let alter):
            try await DDLExecutor(session: self).alterTable(alter)
            return SQLResult(tag: "ALTER TABLE")
        case .set(let set) where set.name == "all" && set.value == .defaultValue:
            // RESET ALL: every setting back to its value at startup.
            settings = settingsAtStart
            return SQLResult(tag: "RESET", changedSettings: allSettings)
        case .session(let command):
            return try runSessionCommand(command)
        case .set(let set):
            switch set.value {
            case .defaultValue:
                // As in PostgreSQL, the default is the value the session started with (its
                // startup packet's, else the server's).
                try settings.set(set.name, to: try settingsAtStart.show(set.name))
            case .values(let values):
                try settings.set(set.name, to: values.joined(separator: ", "))
            }
            return SQLResult(tag: "SET", changedSettings: [.init(name: set.name, value: try settings.show(set.name))])
        case .show(let show):
            let value = try settings.show(show.name)
            return SQLResult(tag: "SHOW", columns: [show.name], columnTypes: [.text], rows: [[.text(value)]])
        case .explain(let explain):
            return try await self.explain(explain, parameters: parameters)
        case .user(let user):
            let name = user.name.name
            switch user.action {
            case .create(let password): return SQLResult(tag: try await gateway.createUser(name: name, password: password).tag)
            case .alter(let password): return SQLResult(tag: try await gateway.alterUser(name: name, password: password).tag)
            case .drop(let ifExists): return SQLResult(tag: try await gateway.dropUser(name: name, ifExists: ifExists).tag)
            }
        case .transaction(let control):
            return try await runTransactionControl(control)
        case .truncate(let truncate):
            try await DDLExecutor(session: self).truncate(truncate)
            return SQLResult(tag: "TRUNCATE TABLE")
        case .vacuum(let vacuum):
            if vacuum.vacuums, transaction != nil {
                throw SQLError(.init("25001"), "VACUUM cannot run inside a transaction block", position: vacuum.location.offset + 1)
            }
            try await DDLExecutor(session: self).vacuum(vacuum)
            return SQLResult(tag: vacuum.vacuums ? "VACUUM" : "ANALYZE")
        }
    }

    // MARK: SELECT

    /// A planner over this session's catalog; `parameters` ($1…) prune shards as literals would.
    func planner(parameters: [SQLiteValue] = []) async throws(SQLError) -> SelectPlanner {
        do {
            var planner = SelectPlanner(catalog: try await catalogSnapshot(), parameters: parameters.map(\.plannerValue))
            planner.blobInlineMax = settings.blobInlineMax
            return planner
        } catch {
            throw SQLError(.init("08006"), "the catalog is not available on this node: \(error)")
        }
    }

    func addTemporaryView(_ view: PlannerView) {
        temporaryViews[view.name] = view
    }

    /// Drops the temporary view `name`; false when the session has none of that name.
    func removeTemporaryView(_ name: String) -> Bool {
        temporaryViews.removeValue(forKey: name) != nil
    }

    func catalogSnapshot() async throws -> PlannerCatalogSnapshot {
        PlannerCatalogSnapshot(catalog: try await gateway.catalog(), temporaryViews: temporaryViews, tableCache: gateway.plannerTables)
    }

    private func selectResult(_ select: Select, parameters: [SQLiteValue], describeOnly: Bool = false) async throws -> SQLResult {
        let output = try await runSelect(select, parameters: parameters, analyze: false, describeOnly: describeOnly).output
        let types = ResultTypes(catalog: try await catalogSnapshot()).types(of: select) ?? []
        return SQLResult(tag: "SELECT \(output.rows.count)", columns: Self.columnNames(select, fallback: output.columns),
                         columnTypes: types, rows: output.rows)
    }

    /// The columns `select` returns, for the PostgreSQL extended protocol's Describe: it runs with
    /// NULL parameters on this node's own replica (`local`), outside the session's transaction
    /// block, so it takes no lock and orders nothing — only the column names and types are
    /// wanted. (Run inside the block, a Describe read-locked the shard a NULL key prunes to, and
    /// two TPC-B clients describing their SELECT deadlocked on it: `DescribeTests`.)
    /// `catalogVersion`: the version of the catalog the caller planned with; nil (no catalog read)
    /// describes without the cache.
    public func describeSelect(_ select: Select, sql: String, parameterCount: Int,
                               catalogVersion: UInt64?) async throws(SQLError) -> SQLResult {
        do {
            let key = catalogVersion.map { DescribeKey(sql: sql, parameterCount: parameterCount, catalogVersion: $0) }
            if let key, let known = describeCache[key] { return known }
            let described = try await selectResult(select, parameters: Array(repeating: .null, count: parameterCount), describeOnly: true)
            // A few rows are kept: where the SQL layer knows no column type, the wire layer infers
            // one from the values, and must infer the same one from the cache.
            let result = SQLResult(tag: described.tag, columns: described.columns, columnTypes: described.columnTypes,
                                   rows: Array(described.rows.prefix(Self.describeRowsKept)))
            if let key {
                if describeCache.count >= Self.describeCacheMax { describeCache = [:] }
                describeCache[key] = result
            }
            return result
        } catch {
            throw Self.sqlError(error, settings: settings)
        }
    }

    func runSelect(_ select: Select, parameters: [SQLiteValue], analyze: Bool,
                   describeOnly: Bool = false) async throws -> (plan: SelectPlan, output: SelectExecutor.Output) {
        // Bound values prune like literals: `WHERE id = $1` reads one shard, not all (and inside a
        // block read-locks one shard, not all — which deadlocked TPC-B clients: `DescribeTests`).
        let planner = try await planner(parameters: parameters)
        var plan = try planner.plan(select)
        plan.blobReading = Self.blobReading
        var executor = SelectExecutor(gateway: gateway, consistency: describeOnly ? .local : settings.readConsistency,
                                      workMemBytes: settings.workMemBytes, parameters: parameters,
                                      transaction: describeOnly ? nil : transaction)
        if let snapshot = planner.catalog as? PlannerCatalogSnapshot {
            executor.functions = try await postgresFunctions(catalog: snapshot.catalog)
        }
        var output = try await executor.run(plan)
        if let blobs = plan.blobs {
            output.blobAnalysis = try await executor.fetchBlobs(in: &output.rows, strategy: blobs, describeOnly: describeOnly)
        }
        return (plan, output)
    }

    /// How the gateway reads out-of-line values (the transfer's defaults), for EXPLAIN.
    static var blobReading: BlobStrategy.Reading {
        let options = ChunkTransfer.Options()
        return BlobStrategy.Reading(windowChunks: options.windowChunks, replicas: options.replicas)
    }

    /// The PostgreSQL functions as this session sees them (user, pid, settings), over `catalog`.
    func postgresFunctions(catalog: CatalogStateMachine? = nil) async throws -> PostgresFunctions {
        let catalog = if let catalog { catalog } else { try await gateway.catalog() }
        return PostgresFunctions(user: user, backendPID: backendPID, settings: settings, catalog: catalog)
    }

    private func explain(_ explain: Explain, parameters: [SQLiteValue]) async throws -> SQLResult {
        var lines: [String]
        switch explain.statement {
        case .select(let select):
            if explain.analyze {
                let start = ContinuousClock.now
                let (plan, output) = try await runSelect(select, parameters: parameters, analyze: true)
                lines = plan.explain(analysis: output.analysis, blobAnalysis: output.blobAnalysis)
                lines.append("Execution time: \(format3(SelectExecutor.milliseconds(since: start))) ms")
            } else {
                var plan = try await planner(parameters: parameters).plan(select)
                plan.blobReading = Self.blobReading
                lines = plan.explain()
            }
        case .insert, .update, .delete:
            lines = try await WriteExecutor(session: self).explain(explain.statement, parameters: parameters, analyze: explain.analyze)
        default:
            lines = ["Utility statement: runs through the metadata group"]
        }
        return SQLResult(tag: "EXPLAIN", columns: ["QUERY PLAN"], columnTypes: [.text], rows: lines.map { [.text($0)] })
    }

    /// PostgreSQL's names for output columns: the alias, else the column's name, else the
    /// function's name, else "?column?". SQLite would name them by the expression's text, which
    /// differs between the shard and gateway SQL of one plan.
    static func columnNames(_ select: Select, fallback: [String]) -> [String] {
        guard case .select(let core) = select.body.first,
              !core.items.contains(where: { if case .expression = $0 { false } else { true } }),
              core.items.count == fallback.count else { return fallback }
        return core.items.map { item in
            guard case .expression(let expression, let alias) = item else { return "?column?" }
            if let alias { return alias.name }
            switch expression.kind {
            case .column(let reference): return reference.column.name
            case .function(let call): return call.name.name
            case .cast(_, let type): return type.name
            case .caseWhen: return "case"
            case .exists: return "exists"
            default: return "?column?"
            }
        }
    }
}

extension SQLExecutionError {
    func sqlError(settings: SessionSettings) -> SQLError {
        switch self {
        case .workMem(let bytes):
            SQLError(.init("53200"), "the statement needs more than work_mem = \(SessionSettings.formatBytes(bytes)) of rows at the gateway",
                     hint: "Narrow it with a WHERE clause on the shard key, or raise work_mem (SET work_mem = '1GB').")
        case .sqlite(let error):
            SQLError(SQLState(GatewayError.sqlState(forSQLiteCode: error.extendedResultCode, message: error.message)),
                     BlobStrategy.outOfLineMessage(GatewayError.postgresMessage(forSQLiteMessage: error.message)))
        }
    }
}
