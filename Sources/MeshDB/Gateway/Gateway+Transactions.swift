import Consensus
import Foundation
import Synchronization

/// Transaction blocks as the gateway drives them (docs/wire.md, "Transactions"). A session's
/// block lives in one shard group: the first statement that touches a shard begins it there, every
/// read and write of the block then runs inside it as an ordered step, and COMMIT or ROLLBACK
/// ends it. A block that would touch a second group is refused (0A000): an atomic commit across
/// groups needs two-phase commit, which is not built yet.
extension Gateway {
    /// How long an operation waits for a shard that another transaction block holds before it
    /// fails with 55P03. Longer than the default idle timeout
    /// (`SQLSession.idleInTransactionTimeoutDefaultMillis`), so that a write waiting on an abandoned
    /// block outlives the block.
    public static let lockWaitTimeout = Duration.seconds(90)
    /// The longest pause between two looks at the local replica while an operation waits.
    static let lockRetryPauseMax = Duration.milliseconds(5)
    /// A waiting operation is ordered again at least this often even when the local replica
    /// still shows the shard held by the same block: that replica may trail the group (it may
    /// even wait for the next checkpoint to catch up, which a quiet group does not reach).
    static let lockRetryAttemptInterval = Duration.seconds(1)
    /// How often a gateway that holds no replica of the group, and so cannot watch the holder,
    /// orders a waiting operation again.
    static let lockRetryBlindInterval = Duration.milliseconds(50)

    /// How often a node looks for abandoned blocks in the groups it replicates (`sweepIdleBlocks`).
    public static let idleBlockSweepInterval = Duration.seconds(1)

    /// Orders a tick in each shard group this node replicates where a block has been idle past
    /// its timeout by this node's clock, so that a block whose gateway vanished is aborted about
    /// when its timeout passes even if no one else uses the group. Each node's `MeshNode` runs
    /// this every `idleBlockSweepInterval`; the decision is still the group's, in ordered time.
    public func sweepIdleBlocks() async {
        // The async catalog read: the sweep must never block a concurrency thread on the node's queue.
        let groups = (try? await catalog().sortedGroups.map(\.id)) ?? []
        for group in groups where group != Self.metadataGroup {
            let now = Self.clockMillis()
            let overdue = try? await runtime.readStateMachine(group: group) { machine -> Bool in
                guard let table = (machine as? ShardStateMachine)?.transactionTable else { return false }
                return table.blocks.values.contains { now > $0.idleDeadlineMillis }
            }
            if overdue == true { _ = try? await submitOnce(.tick(clockMillis: now), group: group) }
        }
    }

    /// This gateway's clock in milliseconds since 1970: what a transaction step or tick carries.
    /// The group orders these values and keeps the largest, so replicas never read their own
    /// clocks (`ShardTransactionTable.clockMillis`).
    static func clockMillis() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// A new transaction block, not yet begun in any group. `idleTimeoutMillis`: how long it may
    /// wait between statements before the group aborts it.
    public func newTransaction(idleTimeoutMillis: UInt64) -> GatewayTransaction {
        GatewayTransaction(id: TransactionID(UInt64.random(in: 1...UInt64.max)), idleTimeoutMillis: idleTimeoutMillis)
    }

    /// Begins `transaction` in the group of `shards` of `table` if it has not begun anywhere; 0A000
    /// when they span groups or lie in another group than the block's. Call before running a
    /// statement's steps on those shards (the steps of one statement run concurrently).
    public func join(_ transaction: GatewayTransaction, table: CatalogTable, shards: [UInt32]) async throws {
        let groups = Set(try shards.map { try group(of: table, shard: $0) })
        guard let target = groups.min() else { return }
        guard groups.count == 1 else {
            throw GatewayError(sqlState: "0A000", message: "a transaction block reaches one shard group; table \"\(table.name)\" spreads these shards over groups \(groups.sorted()) (multi-group transactions need two-phase commit, not supported yet)")
        }
        if let current = transaction.group {
            guard current == target else {
                throw GatewayError(sqlState: "0A000", message: "this transaction block runs in shard group \(current); table \"\(table.name)\" lives in group \(target) (multi-group transactions need two-phase commit, not supported yet)")
            }
            return
        }
        _ = try applied(try await transactionStep(.begin, of: transaction, group: target))
        transaction.began(in: target)
    }

    /// Runs `statements` on shard `shard` of `table` inside `transaction` (joined already).
    func write(_ statements: [ShardStore.Statement], table: CatalogTable, shard: UInt32,
               in transaction: GatewayTransaction) async throws -> [ShardStore.StatementResult] {
        let id = try shardID(table.name, shard)
        return try applied(try await transactionStep(.write(id, statements: statements), of: transaction, group: try joinedGroup(transaction, table, shard)))
    }

    /// Runs the SELECT `sql` on shard `shard` of `table` inside `transaction` (joined already):
    /// it sees the block's writes, and locks the shard until the block ends.
    func read(_ table: CatalogTable, shard: UInt32, sql: String, parameters: [SQLiteValue],
              in transaction: GatewayTransaction) async throws -> Rows {
        try checkReadLimits(sql: sql, parameters: parameters)
        let id = try shardID(table.name, shard)
        let outcome = try await transactionStep(.read(id, sql: sql, parameters: parameters), of: transaction, group: try joinedGroup(transaction, table, shard))
        guard let result = try applied(outcome).first else { return Rows(columns: [], rows: []) }
        return Rows(columns: result.columns, rows: result.rows)
    }

    /// Commits `transaction`: all its writes at once, or none when it was aborted (25P03).
    /// The chunks of the out-of-line values its statements stored are refreshed first (f + 1
    /// copies each, or 55000 and no commit): the block's rows were invisible to garbage
    /// collection's reference scan until now, and the puts that protected them may be older
    /// than gc_grace (docs/blobs.md, "Garbage collection").
    public func commit(_ transaction: GatewayTransaction) async throws {
        guard let group = transaction.group else { return }
        try await refreshChunks(of: transaction.storedRoots)
        _ = try applied(try await transactionStep(.commit, of: transaction, group: group))
    }

    /// Rolls `transaction` back; a block already aborted rolls back to nothing.
    public func rollBack(_ transaction: GatewayTransaction) async throws {
        guard let group = transaction.group else { return }
        _ = try applied(try await transactionStep(.rollback, of: transaction, group: group))
    }

    private func joinedGroup(_ transaction: GatewayTransaction, _ table: CatalogTable, _ shard: UInt32) throws -> UInt32 {
        let target = try group(of: table, shard: shard)
        guard transaction.group == target else {
            preconditionFailure("join(_:table:shards:) runs before a statement's steps")
        }
        return target
    }

    func transactionStep(_ step: TransactionStep, of transaction: GatewayTransaction, group: UInt32) async throws -> ShardResult {
        try await waitingWhileBusy(group: group) {
            .transaction(TransactionOperation(id: transaction.id, clockMillis: Self.clockMillis(),
                                              idleTimeoutMillis: transaction.idleTimeoutMillis, step: step))
        }
    }

    /// Orders `operation()` through `group`, again once the transaction block that holds its
    /// shard has ended, for up to `lockWaitTimeout` (55P03 beyond). While it waits the gateway
    /// watches its own replica of the group (`ShardTransactionTable`), which costs no ordering;
    /// when the holder is gone or another block took the shard over it tries again (a waiting
    /// block's retry records whom it waits for now, which deadlock detection relies on), and when
    /// the holder has been idle for longer than its timeout by this gateway's clock it first
    /// orders a tick, so the group aborts the abandoned block in ordered time. Every
    /// `lockRetryAttemptInterval` it tries again anyway, in case its replica trails. A gateway
    /// without a replica of the group tries again every `lockRetryBlindInterval`, preceded by a
    /// tick unless the operation is a block's step (which carries the clock itself).
    func waitingWhileBusy(group: UInt32, _ operation: () -> ShardOperation) async throws -> ShardResult {
        let start = ContinuousClock.now
        while true {
            let attempt = operation()
            let outcome = try await submitOnce(attempt, group: group)
            guard case .failure(let failure) = outcome, failure.kind == .transactionBusy, let shard = attempt.shardID else { return outcome }
            var pause = Duration.milliseconds(1)
            let refusedAt = ContinuousClock.now
            var firstHolder: TransactionID?
            waiting: while true {
                guard ContinuousClock.now - start < Self.lockWaitTimeout else {
                    throw GatewayError(sqlState: "55P03", message: "\(failure.message); waited longer than lock_wait_timeout = \(Self.lockWaitTimeout)")
                }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, Self.lockRetryPauseMax)
                switch await localHolder(of: shard, group: group) {
                case .free:
                    break waiting
                case .held(_, let idleSinceMillis)
                    where idleSinceMillis < Self.clockMillis() && ContinuousClock.now - refusedAt >= Self.lockRetryBlindInterval:
                    // (Not at once: a trailing replica may show an active holder as idle.)
                    _ = try await submitOnce(.tick(clockMillis: Self.clockMillis()), group: group)
                    break waiting
                case .held(let holder, _):
                    if firstHolder == nil { firstHolder = holder }
                    if holder != firstHolder || ContinuousClock.now - refusedAt >= Self.lockRetryAttemptInterval { break waiting }
                case .unknown:
                    guard ContinuousClock.now - refusedAt >= Self.lockRetryBlindInterval else { continue waiting }
                    if case .transaction = attempt { break waiting }
                    _ = try await submitOnce(.tick(clockMillis: Self.clockMillis()), group: group)
                    break waiting
                }
            }
        }
    }

    private enum LocalHolder: Sendable {
        /// No block holds the shard in this node's replica.
        case free
        /// `holder` holds it; it is past its idle timeout once the group clock exceeds `idleSinceMillis`.
        case held(TransactionID, idleSinceMillis: UInt64)
        /// This node holds no replica of the group.
        case unknown
    }

    /// Who holds `shard` in this node's replica of `group`, which may trail the group by a few
    /// operations: a stale answer costs one refused attempt or one tick, never a wrong result.
    private func localHolder(of shard: ShardID, group: UInt32) async -> LocalHolder {
        let holder = try? await runtime.readStateMachine(group: group) { machine -> LocalHolder in
            guard let table = (machine as? ShardStateMachine)?.transactionTable else { return .unknown }
            guard let id = table.holder(of: shard), let block = table.blocks[id] else { return .free }
            return .held(id, idleSinceMillis: block.idleDeadlineMillis)
        }
        return holder ?? .unknown
    }
}

/// One session's transaction block: its id, the idle timeout it asked for and the shard group it
/// began in. A class because the executors that run a statement's steps share it; the session
/// runs one statement at a time, and `Gateway.join` sets the group before a statement's steps
/// start, so the lock only guards against misuse.
public final class GatewayTransaction: Sendable {
    public let id: TransactionID
    public let idleTimeoutMillis: UInt64
    private let joined = Mutex<UInt32?>(nil)
    /// The out-of-line values the block's statements stored, by root encoding
    /// (`Gateway.storeOutOfLine`): COMMIT refreshes their chunks (`Gateway.commit`).
    private let stored = Mutex<[[UInt8]: BlobRoot]>([:])

    init(id: TransactionID, idleTimeoutMillis: UInt64) {
        self.id = id
        self.idleTimeoutMillis = idleTimeoutMillis
    }

    /// The shard group the block began in; nil until it touches a shard.
    public var group: UInt32? { joined.withLock { $0 } }

    /// Notes a value stored for one of the block's statements.
    func noteStored(_ root: BlobRoot) {
        stored.withLock { $0[root.encoded()] = root }
    }

    /// The roots the block's statements stored, in the order of their encodings.
    var storedRoots: [BlobRoot] {
        stored.withLock { BlobRoot.inEncodingOrder($0) }
    }

    fileprivate func began(in group: UInt32) {
        joined.withLock { $0 = group }
    }
}

extension Gateway {
    /// Runs `body` inside `open`, the session's block, when there is one; otherwise inside a
    /// block of its own that commits when `body` returns and rolls back when it throws: a
    /// statement of several shard writes (TRUNCATE of several tables) then applies all or none.
    public func inTransaction(_ open: GatewayTransaction?, idleTimeoutMillis: UInt64,
                              _ body: (GatewayTransaction) async throws -> Void) async throws {
        if let open { return try await body(open) }
        let block = newTransaction(idleTimeoutMillis: idleTimeoutMillis)
        do {
            try await body(block)
        } catch {
            try? await rollBack(block)
            throw error
        }
        try await commit(block)
    }
}
