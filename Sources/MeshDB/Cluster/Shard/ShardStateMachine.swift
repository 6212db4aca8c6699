public import Consensus
import CSQLite
import Foundation

/// The state machine a shard group's PBFT instance drives (DESIGN.md, "Shard group"): the shard
/// replicas this node serves, one `ShardStore` file per shard in one directory. Every member
/// executes the same ordered operations and so holds the same rows.
///
/// Determinism: a result depends only on the operations executed before it. Bad input (malformed
/// bytes, a missing shard, a failing statement) gives an error result that every replica computes
/// alike. A failure of this node's own disk does not: another replica's disk did not fail. The
/// protocol's `execute` cannot throw and must not return a result that differs from the other
/// replicas, so such failures stop the process (`preconditionFailure`, crash-stop); the node
/// restarts and recovers its state through PBFT's log and state transfer.
///
/// A class, not a struct: it owns open SQLite connections and files, which copying cannot
/// duplicate. Not Sendable, like `ShardStore`: one thread or actor owns it.
public final class ShardStateMachine: ReplicatedStateMachine {
    public let directory: String
    public let durability: ShardStore.Durability
    public let limits: ShardOperation.Limits
    /// Largest encoded result. Matches Consensus's default `resultBytesMax`: a larger reply
    /// could not reach the client, so it becomes an error result, alike on every replica.
    public let resultBytesMax: Int
    /// Largest result of a `local` or `verified` read (`localQuery`), as encoded. Those reads
    /// bypass PBFT: a local read stays in the process, a verified one returns in one transport
    /// frame per replica (TCPTransport's frame_bytes_max is 32 MiB), so they may be far larger
    /// than a PBFT reply. Rows are counted while SQLite produces them, so a larger result fails
    /// (SQLITE_TOOBIG, SQLSTATE 54000) without ever being buffered whole.
    public let readResultBytesMax: Int
    public static let readResultBytesMaxDefault = 16 << 20
    var stores: [ShardID: ShardStore] = [:]
    /// The open transaction blocks and the shards they hold (`ShardStateMachine+Transactions`).
    var transactions: ShardTransactionTable

    /// Opens the shards found in `directory`, creating the directory if needed. Files that are
    /// not shards (SQLite's -wal and -shm files, a leftover staging folder) are left alone.
    public init(
        directory: String,
        durability: ShardStore.Durability = .fsync,
        limits: ShardOperation.Limits = ShardOperation.Limits(),
        resultBytesMax: Int = 64 * 1024,
        readResultBytesMax: Int = ShardStateMachine.readResultBytesMaxDefault,
        transactionLimits: ShardTransactionTable.Limits = ShardTransactionTable.Limits()
    ) throws(ShardStateMachineError) {
        transactions = ShardTransactionTable(limits: transactionLimits)
        self.directory = directory
        self.durability = durability
        self.limits = limits
        self.resultBytesMax = resultBytesMax
        self.readResultBytesMax = readResultBytesMax
        let files: [String]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: stagingDirectory)
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .directory("\(directory): \(error.localizedDescription)")
        }
        for file in files.sorted() {
            guard let id = ShardID(fileName: file) else { continue }
            do {
                stores[id] = try openStore(id)
            } catch {
                throw .openFailed(id, error)
            }
        }
    }

    deinit {
        for store in stores.values { store.close() }
    }

    /// The shards held, in name order.
    public var shardIDs: [ShardID] { stores.keys.sorted() }

    /// Runs a read-only query on a local replica (a `local` read, or one replica's answer to a
    /// `verified` one; not ordered through PBFT). Its result may take up to `readResultBytesMax`.
    public func localQuery(_ id: ShardID, _ sql: String, _ parameters: [SQLiteValue] = []) -> ShardResult {
        let result = read(id, sql: sql, parameters: parameters, valueBytesMax: (readResultBytesMax, "read_result_bytes_max"))
        guard case .ok(let results) = result else { return result }
        // The values fit; the column names and framing count too.
        let size = ShardResult.encodedByteCount(of: results)
        guard size <= readResultBytesMax else {
            return .failure(ShardFailure(.sqlite, sqliteExtendedCode: SQLITE_TOOBIG,
                                         message: "result of \(size) bytes exceeds read_result_bytes_max = \(readResultBytesMax) bytes"))
        }
        return result
    }

    /// One encoded `ShardResult` per request. Bad input gives an error result, alike on every
    /// replica; a failure of this node's disk stops the process instead (`preconditionFailure`,
    /// crash-stop), because any result it could return would differ from the other replicas'.
    /// The node restarts and recovers through PBFT.
    public func execute(sequence: UInt64, requests: [Request]) -> [[UInt8]] {
        requests.map { executeEncoded($0.operation, client: $0.client) }
    }

    /// Executes one encoded operation from PBFT client `client` and returns its decoded result
    /// (for tests and tools).
    public func execute(operation bytes: [UInt8], client: UInt64 = 0) -> ShardResult {
        let encoded = executeEncoded(bytes, client: client)
        guard let result = try? ShardResult(decoding: encoded) else {
            preconditionFailure("a result this machine encoded always decodes")
        }
        return result
    }

    /// Executes one encoded operation; the reply is at most `resultBytesMax` bytes.
    private func executeEncoded(_ bytes: [UInt8], client: UInt64) -> [UInt8] {
        let operation: ShardOperation
        do {
            operation = try ShardOperation(decoding: bytes, limits: limits)
        } catch {
            return ShardResult.failure(ShardFailure(decoding: error)).encoded()
        }
        let encoded = apply(operation, client: client).encoded()
        guard encoded.count <= resultBytesMax else {
            let applied = switch operation {
            case .write: "the write was applied, but "
            case .transaction(let operation) where operation.step.tag == TransactionStep.writeTag:
                "the write was applied inside its transaction block, but "
            default: ""
            }
            return ShardResult.failure(ShardFailure(.limitExceeded,
                message: "\(applied)its result of \(encoded.count) bytes exceeds result_bytes_max = \(resultBytesMax)")).encoded()
        }
        return encoded
    }

    private func apply(_ operation: ShardOperation, client: UInt64) -> ShardResult {
        switch operation {
        case .createShard(let id, let ddl):
            return createShard(id, ddl: ddl)
        case .dropShard(let id):
            if let busy = busyFailure(id) { return busy }
            return dropShard(id)
        case .write(let id, let statements):
            if let busy = busyFailure(id) { return busy }
            return write(id, statements: statements)
        case .read(let id, let sql, let parameters):
            // Committed rows only: a transaction block's writes stay invisible until COMMIT.
            return read(id, sql: sql, parameters: parameters)
        case .transaction(let operation):
            return execute(operation, client: client)
        case .tick(let clockMillis):
            advanceClock(to: clockMillis)
            return .ok([])
        }
    }

    /// Removes every shard: the state before the first operation. `Replica.restore(from:)`
    /// rebuilds a replica from its log onto a fresh state machine, restoring the latest
    /// checkpoint (which replaces every shard) and re-executing what follows; when the log holds
    /// no checkpoint yet, call this first, or the shards kept on disk would get the writes twice.
    public func removeAllShards() {
        transactions.removeAll()
        for id in shardIDs {
            stores.removeValue(forKey: id)!.close()
            removeFiles(of: id)
        }
    }

    /// Opens a shard file with a row limit that no fitting reply can exceed (every row takes at
    /// least one byte), so a large SELECT fails early instead of buffering rows for nothing.
    func openStore(_ id: ShardID) throws(ShardStoreError) -> ShardStore {
        try openStore(at: path(of: id))
    }

    func openStore(at path: String) throws(ShardStoreError) -> ShardStore {
        var storeLimits = ShardStore.Limits()
        storeLimits.resultRowsMax = resultBytesMax
        return try ShardStore(path: path, durability: durability, limits: storeLimits)
    }

    private func createShard(_ id: ShardID, ddl: [String]) -> ShardResult {
        guard stores[id] == nil else {
            return .failure(ShardFailure(.shardExists, message: "shard \(id) already exists"))
        }
        for (index, sql) in ddl.enumerated() {
            if let refusal = StatementGuard.refusalForWrite(sql) {
                return .failure(ShardFailure(.statementRefused, message: refusal, statementIndex: index))
            }
        }
        // A file without a store can only be left by a crash in the middle of an earlier create.
        removeFiles(of: id)
        let store: ShardStore
        do {
            store = try openStore(id)
        } catch {
            preconditionFailure("cannot create shard file \(path(of: id)): \(error). Stopping; the node recovers through PBFT")
        }
        do {
            try store.apply(ddl.map { ShardStore.Statement($0) })
        } catch {
            store.close()
            removeFiles(of: id)
            return .failure(failure(from: error))
        }
        stores[id] = store
        return .ok([])
    }

    private func dropShard(_ id: ShardID) -> ShardResult {
        guard let store = stores.removeValue(forKey: id) else { return notFound(id) }
        store.close()
        removeFiles(of: id)
        return .ok([])
    }

    private func write(_ id: ShardID, statements: [ShardStore.Statement]) -> ShardResult {
        guard let store = stores[id] else { return notFound(id) }
        for (index, statement) in statements.enumerated() {
            if let refusal = StatementGuard.refusalForWrite(statement.sql) {
                return .failure(ShardFailure(.statementRefused, message: refusal, statementIndex: index))
            }
        }
        do {
            return .ok(try store.apply(statements))
        } catch {
            return .failure(failure(from: error))
        }
    }

    func read(_ id: ShardID, sql: String, parameters: [SQLiteValue],
                      valueBytesMax: (bytes: Int, name: String)? = nil) -> ShardResult {
        guard let store = stores[id] else { return notFound(id) }
        if let refusal = StatementGuard.refusalForRead(sql) {
            return .failure(ShardFailure(.statementRefused, message: refusal, statementIndex: 0))
        }
        do {
            return .ok([try store.query(sql, parameters, valueBytesMax: valueBytesMax)])
        } catch {
            return .failure(failure(from: error))
        }
    }

    func notFound(_ id: ShardID) -> ShardResult {
        .failure(ShardFailure(.shardNotFound, message: "shard \(id) does not exist on this group"))
    }

    /// The error result every replica computes alike, or a crash-stop for a local failure.
    func failure(from error: ShardStoreError) -> ShardFailure {
        switch error {
        case .statementFailed(let index, let sqlite):
            return ShardFailure(.sqlite, sqliteExtendedCode: checkedDeterministic(sqlite),
                                message: sqlite.message, statementIndex: index)
        case .sqlite(let sqlite):
            // COMMIT can fail deterministically too (a deferred foreign-key violation).
            return ShardFailure(.sqlite, sqliteExtendedCode: checkedDeterministic(sqlite), message: sqlite.message)
        case .limitExceeded(let message):
            return ShardFailure(.limitExceeded, message: message)
        case .snapshotFailed(let message):
            preconditionFailure("a shard operation never takes a snapshot: \(message)")
        }
    }

    /// The error's extended code, after stopping the process if the error comes from this node's
    /// disk, memory or file locks rather than from the statement. SQLITE_AUTH is the statement's:
    /// the authorizer decides from the statement and the access mode alone, so every replica
    /// refuses it alike (as a crash-stop, a statement the authorizer refuses would stop every
    /// replica, and again at each replay of the log).
    private func checkedDeterministic(_ error: SQLiteError) -> Int32 {
        switch error.resultCode {
        case SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOMEM, SQLITE_BUSY, SQLITE_LOCKED,
             SQLITE_READONLY, SQLITE_INTERRUPT, SQLITE_PROTOCOL, SQLITE_NOTADB, SQLITE_PERM, SQLITE_NOLFS:
            preconditionFailure("local storage failure in \(directory): \(error). Stopping; the node recovers through PBFT")
        default:
            return error.extendedResultCode
        }
    }

    func path(of id: ShardID) -> String {
        (directory as NSString).appendingPathComponent(id.fileName)
    }

    /// Holds snapshot files while they are written or checked; removed at start-up.
    var stagingDirectory: String {
        (directory as NSString).appendingPathComponent(".staging")
    }

    /// Removes the shard's database and SQLite's side files; a failure is a local disk failure.
    func removeFiles(of id: ShardID) {
        let base = path(of: id)
        for file in [base, base + "-wal", base + "-shm", base + "-journal"] where FileManager.default.fileExists(atPath: file) {
            do {
                try FileManager.default.removeItem(atPath: file)
            } catch {
                preconditionFailure("cannot remove \(file): \(error). Stopping; the node recovers through PBFT")
            }
        }
    }
}

/// Why the shard state machine could not start or restore.
public enum ShardStateMachineError: Error, Sendable, CustomStringConvertible {
    case directory(String)
    case openFailed(ShardID, ShardStoreError)

    public var description: String {
        switch self {
        case .directory(let message): "shard directory: \(message)"
        case .openFailed(let id, let error): "cannot open shard \(id): \(error)"
        }
    }
}
