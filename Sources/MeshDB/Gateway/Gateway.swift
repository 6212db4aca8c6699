import Consensus

/// The gateway API a node offers its clients (the native client protocol now, the PostgreSQL
/// wire server and the SQL planner later): it turns statements into catalog commands and shard
/// operations, routes them to the right PBFT group and acts as the PBFT client (f+1 matching
/// replies) through the node runtime.
public final class Gateway: Sendable {
    /// How a read is served (../shared/DESIGN.md, Read).
    public enum ReadConsistency: String, Sendable, CaseIterable {
        /// From this node's own replica: fastest; trusts this node.
        case local
        /// The same result from f+1 distinct replicas (at least one correct): the default.
        case verified
        /// Ordered through PBFT like a write: sees every write acknowledged before it.
        case linearizable
    }

    public struct Rows: Sendable, Hashable {
        public let columns: [String]
        public let rows: [[SQLiteValue]]

        public init(columns: [String], rows: [[SQLiteValue]]) {
            self.columns = columns
            self.rows = rows
        }
    }

    public static let metadataGroup: UInt32 = 0
    /// Rows per shard write operation: a larger insert is split into several ordered writes.
    public static let rowsPerWriteMax = 1_000

    public let runtime: NodeRuntime

    public init(runtime: NodeRuntime) {
        self.runtime = runtime
        // How this node answers other gateways' verified reads: the read runs on its own replica.
        runtime.setReadHandler { _, query, machine in
            guard let shards = machine as? ShardStateMachine else {
                return ShardResult.failure(ShardFailure(.malformedOperation, message: "this group does not hold shards")).encoded()
            }
            guard let operation = try? ShardOperation(decoding: query), case .read(let id, let sql, let parameters) = operation else {
                return ShardResult.failure(ShardFailure(.malformedOperation, message: "a verified read carries one read operation")).encoded()
            }
            return shards.localQuery(id, sql, parameters).encoded()
        }
    }

    // MARK: DDL

    /// Creates a table: ordered by the metadata group, then its shards created in their groups.
    public func createTable(_ spec: CatalogTableSpec, ifNotExists: Bool = false) async throws {
        let result = try await catalog(.createTable(spec, ifNotExists: ifNotExists))
        guard let table = try await catalog().table(named: spec.name) else {
            throw GatewayError(sqlState: "XX000", message: "table \(spec.name) missing from the catalog after \(result)")
        }
        let ddl = ShardRouting.createTableSQL(for: table.spec)
        for (shard, group) in table.shardGroups.enumerated() {
            let id = try shardID(table.name, UInt32(shard))
            let outcome = try await shardOperation(.createShard(id, ddl: [ddl]), group: group)
            if case .failure(let failure) = outcome, failure.kind != .shardExists {
                throw GatewayError(failure)
            }
        }
    }

    public func dropTable(_ name: String, ifExists: Bool = false) async throws {
        let table = try await catalog().table(named: name)
        _ = try await catalog(.dropTable(name: name, ifExists: ifExists))
        guard let table else { return }
        for (shard, group) in table.shardGroups.enumerated() {
            let outcome = try await shardOperation(.dropShard(try shardID(name, UInt32(shard))), group: group)
            if case .failure(let failure) = outcome, failure.kind != .shardNotFound { throw GatewayError(failure) }
        }
    }

    // MARK: Writes

    /// Inserts `rows` (values in the table's column order); returns the rows inserted. Rows are
    /// grouped by shard and each shard's rows go in ordered writes of at most `rowsPerWriteMax`.
    /// Each write is atomic; an insert spanning shards is not (transactions come with the wire issue).
    @discardableResult
    public func insert(into tableName: String, rows: [[SQLiteValue]]) async throws -> Int {
        let table = try await requireTable(tableName)
        let columns = table.spec.columns.map(\.name)
        let keyPositions = table.spec.shardKey.compactMap { key in columns.firstIndex(of: key) }
        var byShard: [UInt32: [[SQLiteValue]]] = [:]
        for row in rows {
            guard row.count == columns.count else {
                throw GatewayError(sqlState: "42601", message: "INSERT has \(row.count) values; table \(tableName) has \(columns.count) columns")
            }
            let shard = ShardRouting.shard(forKey: keyPositions.map { row[$0] }, shardCount: table.spec.shardCount)
            byShard[shard, default: []].append(row)
        }
        let sql = "INSERT INTO \(quoteIdentifier(tableName)) VALUES (\((1...columns.count).map { "?\($0)" }.joined(separator: ", ")))"
        var inserted = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for shard in byShard.keys.sorted() {
                let shardRows = byShard[shard]!
                let id = try shardID(tableName, shard)
                let target = table.shardGroups[Int(shard)]
                for start in stride(from: 0, to: shardRows.count, by: Self.rowsPerWriteMax) {
                    let statements = shardRows[start..<min(start + Self.rowsPerWriteMax, shardRows.count)].map { ShardStore.Statement(sql, $0) }
                    group.addTask {
                        switch try await self.shardOperation(.write(id, statements: statements), group: target) {
                        case .ok(let results): return results.reduce(0) { $0 + $1.rowsChanged }
                        case .failure(let failure): throw GatewayError(failure)
                        }
                    }
                }
            }
            for try await count in group { inserted += count }
        }
        return inserted
    }

    // MARK: Reads

    /// The row whose shard key (and primary key) is `key`, or nil.
    public func get(from tableName: String, key: [SQLiteValue], consistency: ReadConsistency = .verified) async throws -> [SQLiteValue]? {
        let table = try await requireTable(tableName)
        guard key.count == table.spec.primaryKey.count, table.spec.shardKey == table.spec.primaryKey else {
            throw GatewayError(sqlState: "0A000", message: "get needs the full primary key of \(tableName), which must be its shard key")
        }
        let shard = ShardRouting.shard(forKey: key, shardCount: table.spec.shardCount)
        let condition = table.spec.primaryKey.enumerated().map { "\(quoteIdentifier($1)) = ?\($0 + 1)" }.joined(separator: " AND ")
        let rows = try await read(table, shard: shard, sql: "SELECT * FROM \(quoteIdentifier(tableName)) WHERE \(condition)",
                                  parameters: key, consistency: consistency)
        return rows.rows.first
    }

    /// Every row of the table, shard by shard, each shard's rows in primary-key order.
    public func scan(_ tableName: String, consistency: ReadConsistency = .verified) async throws -> Rows {
        let table = try await requireTable(tableName)
        let order = table.spec.primaryKey.isEmpty ? "rowid" : table.spec.primaryKey.map(quoteIdentifier).joined(separator: ", ")
        var columns = table.spec.columns.map(\.name)
        var rows: [[SQLiteValue]] = []
        for shard in 0..<table.spec.shardCount {
            let part = try await read(table, shard: shard, sql: "SELECT * FROM \(quoteIdentifier(tableName)) ORDER BY \(order)",
                                      parameters: [], consistency: consistency)
            columns = part.columns.isEmpty ? columns : part.columns
            rows += part.rows
        }
        return Rows(columns: columns, rows: rows)
    }

    /// A system table (`mesh_nodes`, `mesh_tables`, `mesh_shards`, `mesh_groups`) from this node's catalog replica.
    public func systemTable(_ name: String) throws -> Rows {
        guard let rows = try catalogSnapshot().systemTable(named: name) else {
            throw GatewayError(sqlState: "42P01", message: "relation \"\(name)\" does not exist")
        }
        return Rows(columns: rows.columns, rows: rows.rows)
    }

    /// The catalog as this node's metadata replica has executed it.
    public func catalogSnapshot() throws -> CatalogStateMachine {
        try runtime.withStateMachine(group: Self.metadataGroup, Self.catalog(of:))
    }

    /// The same, for async callers: does not block a thread while the node's queue is busy.
    public func catalog() async throws -> CatalogStateMachine {
        try await runtime.readStateMachine(group: Self.metadataGroup, Self.catalog(of:))
    }

    @Sendable private static func catalog(of machine: any ReplicatedStateMachine) throws -> CatalogStateMachine {
        guard let catalog = machine as? CatalogStateMachine else {
            throw GatewayError(sqlState: "XX000", message: "group 0 does not run the catalog")
        }
        return catalog
    }

    // MARK: Plumbing

    private func read(_ table: CatalogTable, shard: UInt32, sql: String, parameters: [SQLiteValue],
                      consistency: ReadConsistency) async throws -> Rows {
        let id = try shardID(table.name, shard)
        let group = table.shardGroups[Int(shard)]
        let outcome: ShardResult
        switch consistency {
        case .verified:
            let bytes = try await runtime.verifiedRead(group: group, query: ShardOperation.read(id, sql: sql, parameters: parameters).encoded())
            outcome = try ShardResult(decoding: bytes)
        case .linearizable:
            outcome = try await shardOperation(.read(id, sql: sql, parameters: parameters), group: group)
        case .local:
            outcome = try await runtime.readStateMachine(group: group) { machine in
                guard let shards = machine as? ShardStateMachine else {
                    throw GatewayError(sqlState: "XX000", message: "group \(group) does not run shards")
                }
                return shards.localQuery(id, sql, parameters)
            }
        }
        switch outcome {
        case .ok(let results):
            guard let result = results.first else { return Rows(columns: [], rows: []) }
            return Rows(columns: result.columns, rows: result.rows)
        case .failure(let failure):
            throw GatewayError(failure)
        }
    }

    private func requireTable(_ name: String) async throws -> CatalogTable {
        guard let table = try await catalog().table(named: name) else {
            throw GatewayError(sqlState: "42P01", message: "relation \"\(name)\" does not exist")
        }
        return table
    }

    private func shardID(_ table: String, _ shard: UInt32) throws -> ShardID {
        do {
            return try ShardID(table: table, shard: shard)
        } catch {
            throw GatewayError(sqlState: "42602", message: error.description)
        }
    }

    @discardableResult
    private func catalog(_ command: CatalogCommand) async throws -> String {
        let bytes = try await runtime.submit(group: Self.metadataGroup, operation: command.encoded())
        switch try CatalogResult(decoding: bytes) {
        case .ok(let tag): return tag
        case .error(let error): throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
    }

    private func shardOperation(_ operation: ShardOperation, group: UInt32) async throws -> ShardResult {
        let bytes = try await runtime.submit(group: group, operation: operation.encoded())
        return try ShardResult(decoding: bytes)
    }
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
        let state = failure.kind == .sqlite ? Self.sqlState(forSQLiteCode: failure.sqliteExtendedCode) : failure.kind.sqlState
        self.init(sqlState: state, message: failure.message)
    }

    /// PostgreSQL's code for a SQLite extended result code, as drivers expect it.
    static func sqlState(forSQLiteCode code: Int32) -> String {
        switch code {
        case 1555, 2067: "23505"  // SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE: unique_violation
        case 1299: "23502"        // _NOTNULL: not_null_violation
        case 275: "23514"         // _CHECK: check_violation
        case 787: "23503"         // _FOREIGNKEY: foreign_key_violation
        case 3091: "22P02"        // _DATATYPE (STRICT tables): invalid_text_representation
        case 13: "53100"          // SQLITE_FULL: disk_full
        case 18: "54000"          // SQLITE_TOOBIG: program_limit_exceeded
        case 23: "42501"          // SQLITE_AUTH: insufficient_privilege
        case 1: "42601"           // SQLITE_ERROR: mostly syntax and unknown names
        default: code & 0xFF == 19 ? "23000" : "XX000"
        }
    }

    public var description: String { "\(sqlState): \(message)" }
}
