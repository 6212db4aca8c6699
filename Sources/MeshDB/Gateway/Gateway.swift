import Consensus
import QueryPlanner
import Synchronization

/// The gateway API a node offers its clients (the native client protocol, the PostgreSQL wire
/// server and the SQL executor): it turns DDL into catalog commands and shard operations, routes
/// them to the right PBFT group and acts as the PBFT client (f+1 matching replies) through the
/// node runtime.
///
/// The pieces: DDL (`Gateway+DDL.swift`), writes and row ids (`Gateway+Writes.swift`), reads
/// (`Gateway+Reads.swift`). Lookups read this node's catalog replica, which may trail the f+1
/// replicas that acknowledged the latest DDL by a few batches.
public final class Gateway: Sendable {
    /// How a read is served (../shared/DESIGN.md, Read).
    public enum ReadConsistency: String, Sendable, CaseIterable {
        /// From this node's own replica: fastest; trusts this node.
        case local
        /// The same result from f+1 distinct replicas (at least one correct): the default.
        case verified
        /// Ordered through PBFT like a write: sees every write acknowledged before it. Its result
        /// travels in a PBFT reply, so it is bounded by `ShardStateMachine.resultBytesMax` (64 KiB).
        case linearizable
    }

    /// The rows one read returned, with their column names.
    public struct Rows: Sendable, Hashable {
        public let columns: [String]
        public let rows: [[SQLiteValue]]

        public init(columns: [String], rows: [[SQLiteValue]]) {
            self.columns = columns
            self.rows = rows
        }
    }

    /// What a DDL statement ended with: the command tag for CommandComplete and, when IF [NOT]
    /// EXISTS found nothing to do, the notice PostgreSQL sends ("relation \"t\" already exists,
    /// skipping").
    public struct DDLResult: Sendable, Hashable {
        public let tag: String
        public let notice: String?
    }

    public static let metadataGroup: UInt32 = 0
    /// Rows per shard write operation: a larger insert is split into several ordered writes.
    public static let rowsPerWriteMax = 1_000
    /// Row ids a gateway takes from the catalog at once for a table with a hidden row id.
    public static let rowIDBlockSize = 4_096
    /// How long a catalog command waits for this node's catalog replica to execute what f+1
    /// replicas already did.
    public static let catalogCatchUpTimeout = Duration.seconds(10)

    public let runtime: NodeRuntime
    let rowIDCache = RowIDCache()
    /// Scratch copies of tables in which INSERTs evaluate their rows, kept between statements.
    let insertScratch = ScratchTablePool()
    let operationLimits = ShardOperation.Limits()
    /// Connections to the chunk stores, for out-of-line bytea values (`Gateway+BlobValues.swift`).
    let blobValues = MemberConnections(requestTimeout: .seconds(30))
    /// This node's catalog replica as last executed, published by the runtime after every change
    /// (`NodeRuntime.publishStateMachine`): every statement looks the catalog up, several times,
    /// and a hop onto the node's queue for each waited behind PBFT and shard work. Nil on a node
    /// without a replica of the metadata group.
    private let publishedCatalog = Mutex<CatalogStateMachine?>(nil)
    /// The planner's form of the catalog's tables, built once per catalog version rather than on
    /// every lookup (a statement looks its tables up several times while planning).
    let plannerTables = PlannerTableCache()

    public init(runtime: NodeRuntime) {
        self.runtime = runtime
        // How this node answers other gateways' verified reads: the read runs on its own replica.
        runtime.setReadHandler { _, query, machine in
            guard let shards = machine as? ShardStateMachine else {
                return ShardResult.failure(ShardFailure(.malformedOperation, message: "this group does not hold shards")).encoded()
            }
            let operation: ShardOperation
            do throws(DecodeError) {
                operation = try ShardOperation(decoding: query, limits: shards.limits)
            } catch {
                return ShardResult.failure(ShardFailure(decoding: error)).encoded()
            }
            guard case .read(let id, let sql, let parameters) = operation else {
                return ShardResult.failure(ShardFailure(.malformedOperation, message: "a verified read carries one read operation")).encoded()
            }
            return shards.localQuery(id, sql, parameters).encoded()
        }
        runtime.publishStateMachine(of: Self.metadataGroup) { [weak self] machine in
            guard let catalog = machine as? CatalogStateMachine else { return }
            self?.publishedCatalog.withLock { $0 = catalog }
        }
    }

    // MARK: Catalog

    /// The catalog as this node's metadata replica has executed it.
    public func catalogSnapshot() throws -> CatalogStateMachine {
        if let catalog = publishedCatalog.withLock({ $0 }) { return catalog }
        return try runtime.withStateMachine(group: Self.metadataGroup, Self.catalog(of:))
    }

    /// The same, for async callers: does not block a thread while the node's queue is busy.
    public func catalog() async throws -> CatalogStateMachine {
        if let catalog = publishedCatalog.withLock({ $0 }) { return catalog }
        return try await runtime.readStateMachine(group: Self.metadataGroup, Self.catalog(of:))
    }

    /// The table `name` in this node's catalog replica, or nil.
    public func table(named name: String) async throws -> CatalogTable? { try await catalog().table(named: name) }
    public func view(named name: String) async throws -> CatalogView? { try await catalog().view(named: name) }
    public func index(named name: String) async throws -> CatalogIndex? { try await catalog().index(named: name) }

    @Sendable private static func catalog(of machine: any ReplicatedStateMachine) throws -> CatalogStateMachine {
        guard let catalog = machine as? CatalogStateMachine else {
            throw GatewayError(sqlState: "XX000", message: "group 0 does not run the catalog")
        }
        return catalog
    }

    func requireTable(_ name: String) async throws -> CatalogTable {
        let catalog = try await catalog()
        if let table = catalog.table(named: name) { return table }
        if let kind = catalog.relationKind(named: name) {
            throw GatewayError(sqlState: "42809", message: "\"\(name)\" is a\(kind == .index ? "n" : "") \(kind.name), not a table")
        }
        throw GatewayError(sqlState: "42P01", message: "relation \"\(name)\" does not exist")
    }

    /// Orders `command` through the metadata group; its error, if any, as a `GatewayError`.
    /// Returns once this node's catalog replica has executed the command too (read your own
    /// DDL): a lookup or DDL that follows through this gateway sees it. `awaitsReplica: false`
    /// skips that wait, for commands whose result is all the caller needs.
    func catalogCommand(_ command: CatalogCommand, awaitsReplica: Bool = true) async throws -> CatalogResult {
        let bytes = command.encoded()
        let limit = try await catalog().limits.commandBytesMax
        guard bytes.count <= limit else {
            throw GatewayError(sqlState: "54000", message: "the catalog command takes \(bytes.count) bytes; command_bytes_max = \(limit) (shorter names, types or SQL would fit)")
        }
        let reply = try CatalogReply(decoding: try await runtime.submit(group: Self.metadataGroup, operation: bytes))
        let deadline = ContinuousClock.now + Self.catalogCatchUpTimeout
        while awaitsReplica, try await catalog().version < reply.version {
            guard ContinuousClock.now < deadline else {
                throw GatewayError(sqlState: "57P03", message:
                    "the catalog command was committed, but this node's catalog replica did not execute it within catalog_catch_up_timeout = \(Self.catalogCatchUpTimeout)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        if case .error(let error) = reply.result { throw GatewayError(sqlState: error.sqlState, message: error.message) }
        return reply.result
    }

    // MARK: Shards

    func shardID(_ table: String, _ shard: UInt32) throws -> ShardID {
        do {
            return try ShardID(table: table, shard: shard)
        } catch {
            throw GatewayError(sqlState: "42602", message: error.description)
        }
    }

    /// The group of `table`'s shard `shard`; 22023 for a shard the table does not have.
    func group(of table: CatalogTable, shard: UInt32) throws -> UInt32 {
        guard Int(shard) < table.shardGroups.count else {
            throw GatewayError(sqlState: "22023", message: "table \"\(table.name)\" has \(table.shardGroups.count) shards; there is no shard \(shard)")
        }
        return table.shardGroups[Int(shard)]
    }

    /// Orders `operation` through `group`. While a transaction block holds the shard, the
    /// operation waits (`waitingWhileBusy`).
    func shardOperation(_ operation: ShardOperation, group: UInt32) async throws -> ShardResult {
        try await waitingWhileBusy(group: group) { operation }
    }

    /// Orders one operation through `group`, once.
    func submitOnce(_ operation: ShardOperation, group: UInt32) async throws -> ShardResult {
        let bytes = operation.encoded()
        guard bytes.count <= operationLimits.operationBytesMax else {
            throw GatewayError(sqlState: "54000", message: "the shard operation takes \(bytes.count) bytes; operation_bytes_max = \(operationLimits.operationBytesMax) (split the write)")
        }
        return try ShardResult(decoding: try await runtime.submit(group: group, operation: bytes))
    }

    /// Runs `operation` on each of `shards` of `table` concurrently, ordered through each shard's
    /// group; the outcomes in the order of `shards`. Failures are outcomes, not errors: what to
    /// do about a shard that refused is the caller's decision.
    func onShards(_ shards: [UInt32], of table: CatalogTable,
                  _ operation: @escaping @Sendable (ShardID) -> ShardOperation) async throws -> [ShardResult] {
        try await onShards(shards, of: table) { id, group in try await self.shardOperation(operation(id), group: group) }
    }

    /// The same, with `run` ordering each shard's operation through the shard's group.
    func onShards(_ shards: [UInt32], of table: CatalogTable,
                  running run: @escaping @Sendable (ShardID, _ group: UInt32) async throws -> ShardResult) async throws -> [ShardResult] {
        try await withThrowingTaskGroup(of: (Int, ShardResult).self) { tasks in
            for (position, shard) in shards.enumerated() {
                let id = try shardID(table.name, shard)
                let group = try group(of: table, shard: shard)
                tasks.addTask { (position, try await run(id, group)) }
            }
            var outcomes = [ShardResult?](repeating: nil, count: shards.count)
            for try await (position, outcome) in tasks { outcomes[position] = outcome }
            return outcomes.map { $0! }
        }
    }

    func allShards(of table: CatalogTable) -> [UInt32] { Array(0..<UInt32(table.shardGroups.count)) }
}

/// An error as a client sees it: a SQLSTATE and a message.
public struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    public let sqlState: String
    public let message: String

    public init(sqlState: String, message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    init(_ failure: ShardFailure) {
        self.init(sqlState: failure.sqlState, message: failure.kind == .sqlite ? Self.postgresMessage(forSQLiteMessage: failure.message) : failure.message)
    }

    /// PostgreSQL's code for a SQLite extended result code, as drivers expect it: the constraint
    /// codes map to PostgreSQL's integrity-constraint classes. SQLite reports runtime and name
    /// errors alike as SQLITE_ERROR; its message tells them apart. The one mapping of SQLite's
    /// codes: shard failures and the gateway's scratch database both use it.
    static func sqlState(forSQLiteCode code: Int32, message: String) -> String {
        if code == 1, let state = sqlState(forSQLiteErrorMessage: message) { return state }
        if code == 275, let typeCheck = ColumnTypeChecks.failure(inSQLiteMessage: message) { return typeCheck.sqlState }
        return switch code {
        case 1555, 2067: "23505"  // SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE: unique_violation
        case 1299: "23502"        // _NOTNULL: not_null_violation
        case 275: "23514"         // _CHECK: check_violation
        case 787: "23503"         // _FOREIGNKEY: foreign_key_violation
        case 3091: "22P02"        // _DATATYPE (STRICT tables): invalid_text_representation
        case 13: "53100"          // SQLITE_FULL: disk_full
        case 18: "54000"          // SQLITE_TOOBIG: program_limit_exceeded
        case 20: "42804"          // SQLITE_MISMATCH: datatype_mismatch
        case 23: "42501"          // SQLITE_AUTH: insufficient_privilege
        case 1: "42601"           // SQLITE_ERROR: mostly syntax and unknown names
        default: code & 0xFF == 19 ? "23000" : "XX000"
        }
    }

    /// PostgreSQL's wording of a SQLite constraint message where they say the same thing
    /// ("NOT NULL constraint failed: t.c" → `null value in column "c" of relation "t" violates
    /// not-null constraint`), a column type check's own message (`ColumnTypeChecks`); other
    /// messages as SQLite wrote them.
    static func postgresMessage(forSQLiteMessage message: String) -> String {
        if let typeCheck = ColumnTypeChecks.failure(inSQLiteMessage: message) { return typeCheck.message }
        let notNull = "NOT NULL constraint failed: "
        guard message.hasPrefix(notNull) else { return message }
        let qualified = message.dropFirst(notNull.count)
        guard let dot = qualified.firstIndex(of: "."), !qualified.contains(" ") else { return message }
        return "null value in column \"\(qualified[qualified.index(after: dot)...])\" of relation \"\(qualified[..<dot])\" violates not-null constraint"
    }

    /// The SQLITE_ERROR messages a client can act on, by their stable prefixes.
    static func sqlState(forSQLiteErrorMessage message: String) -> String? {
        // A guarded use of an out-of-line bytea value (`BlobStrategy`).
        if message.hasPrefix(BlobStrategy.outOfLineErrorPrefix) { return "0A000" }
        let prefixes: [(prefix: String, state: String)] = [
            ("integer overflow", "22003"),          // numeric_value_out_of_range (sum() of integers)
            ("no such table", "42P01"),             // undefined_table
            ("no such column", "42703"),            // undefined_column
            ("no such function", "42883"),          // undefined_function
            ("wrong number of arguments", "42883"), // no function of that arity
            ("ambiguous column name", "42702"),     // ambiguous_column
            ("misuse of aggregate", "42803"),       // grouping_error
            ("too many", "54001"),                  // statement_too_complex (terms, columns, arguments)
        ]
        return prefixes.first { message.hasPrefix($0.prefix) }?.state
    }

    public var description: String { "\(sqlState): \(message)" }
}
