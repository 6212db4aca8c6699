public import Consensus

/// Names one transaction block. The gateway draws it at random when a session's transaction
/// first touches a shard group; together with the PBFT client id that began it (the owner), it
/// is what every later step of the block must carry.
public struct TransactionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: TransactionID, rhs: TransactionID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "transaction \(String(rawValue, radix: 16))" }
}

/// One step of a transaction block in one shard group.
public enum TransactionStep: Sendable, Hashable {
    /// Opens the block in this group; it holds no shard yet.
    case begin
    /// Statements run inside the block on `shard`, which the block locks first.
    case write(ShardID, statements: [ShardStore.Statement])
    /// A SELECT inside the block on `shard`, which the block locks first: it sees the block's own
    /// writes, and no one else may write the shard until the block ends (serializable).
    case read(ShardID, sql: String, parameters: [SQLiteValue])
    /// Commits every shard the block holds and releases them.
    case commit
    /// Discards the block's writes and releases its shards; a block that is not open (already
    /// aborted) rolls back to nothing, successfully.
    case rollback

    static let beginTag: UInt8 = 1, writeTag: UInt8 = 2, readTag: UInt8 = 3, commitTag: UInt8 = 4, rollbackTag: UInt8 = 5

    var tag: UInt8 {
        switch self {
        case .begin: Self.beginTag
        case .write: Self.writeTag
        case .read: Self.readTag
        case .commit: Self.commitTag
        case .rollback: Self.rollbackTag
        }
    }

    var shardID: ShardID? {
        switch self {
        case .write(let id, _), .read(let id, _, _): id
        case .begin, .commit, .rollback: nil
        }
    }
}

/// A step with what every step carries: the block's id, the gateway's clock (milliseconds since
/// 1970), and the idle timeout the session asked for.
///
/// Time: replicas never read their own clock. The group's clock is the largest `clockMillis`
/// ordered so far (`ShardTransactionTable.clockMillis`), so every replica sees the same time at
/// the same point of the order and aborts the same idle blocks there.
public struct TransactionOperation: Sendable, Hashable {
    public var id: TransactionID
    public var clockMillis: UInt64
    /// How long the block may stay without a step before any later ordered operation aborts it
    /// (PostgreSQL's idle_in_transaction_session_timeout). Fixed by the begin step.
    public var idleTimeoutMillis: UInt64
    public var step: TransactionStep

    public init(id: TransactionID, clockMillis: UInt64, idleTimeoutMillis: UInt64, step: TransactionStep) {
        self.id = id
        self.clockMillis = clockMillis
        self.idleTimeoutMillis = idleTimeoutMillis
        self.step = step
    }
}

/// The open transaction blocks of one shard group and the shards they hold: the pure,
/// deterministic part of transactions, which `ShardStateMachine` applies to its shard files.
///
/// Design (docs/wire.md, "Transactions"): strict two-phase locking at shard granularity. A block
/// locks each shard it reads or writes, in the order its steps arrive, and keeps the locks until
/// COMMIT or ROLLBACK; a write or block step that needs a shard another block holds is refused
/// as busy (`ShardFailure.Kind.transactionBusy`) and the gateway retries it. A refused block
/// waits for the holder (`waitsFor`); a refusal that would close a cycle of waiting blocks aborts
/// the block asking (40P01) instead, so blocks never wait on each other forever. Every replica
/// executes the same ordered steps against the same table, so every replica makes the same
/// decisions. Reads outside any block see the committed rows.

public struct ShardTransactionTable: Sendable, Hashable {
    public struct Limits: Sendable, Hashable {
        /// Most transaction blocks open at once in one group.
        public var openTransactionsMax = 1_000
        /// Most statements one block may write (its log is kept for snapshots).
        public var statementsPerTransactionMax = 100_000
        /// Longest idle timeout a block may ask for.
        public var idleTimeoutMillisMax: UInt64 = 3_600_000

        public init() {}
    }

    /// The gateway a PBFT client belongs to: a node's gateway submits through a block of
    /// `ClusterLayout.gatewayClientsPerNode` client ids (one per concurrent request), any of
    /// which may carry a block's next step.
    public static func owner(ofClient client: UInt64) -> UInt64 {
        client / ClusterLayout.gatewayClientsPerNode
    }

    /// One open block.
    public struct Block: Sendable, Hashable {
        /// The gateway that began the block (`owner(ofClient:)`); only it may step it.
        public var owner: UInt64
        public var idleTimeoutMillis: UInt64
        /// The group clock at the block's latest step.
        public var lastStepMillis: UInt64
        /// The shards the block holds, in the order it locked them.
        public var shards: [ShardID]
        /// Every write the block made, in order: a snapshot carries it so that a replica restored
        /// from it reopens the block exactly (`ShardStateMachine.restore`).
        public var log: [LoggedWrite]
        public var statementCount: Int

        /// The group clock past which the block counts as abandoned. Saturates: a clock near
        /// the top of its range (a faulty gateway's) must not wrap around and expire every block.
        public var idleDeadlineMillis: UInt64 {
            let (sum, overflow) = lastStepMillis.addingReportingOverflow(idleTimeoutMillis)
            return overflow ? .max : sum
        }
    }

    public struct LoggedWrite: Sendable, Hashable {
        public var shard: ShardID
        public var statements: [ShardStore.Statement]
    }

    public let limits: Limits
    /// The largest gateway clock ordered so far, in milliseconds since 1970.
    public private(set) var clockMillis: UInt64 = 0
    public private(set) var blocks: [TransactionID: Block] = [:]
    /// Which block holds each locked shard.
    public private(set) var holders: [ShardID: TransactionID] = [:]
    /// The block each refused block waits for, until its next step succeeds or it ends. A block
    /// holds its shards until it ends, so an entry naming a block still open is never stale.
    public private(set) var waitsFor: [TransactionID: TransactionID] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Advances the clock to `clockMillis` (never back) and removes the blocks idle for longer
    /// than their timeout at the new time, in id order; the caller rolls back their shards.
    public mutating func advanceClock(to clockMillis: UInt64) -> [(id: TransactionID, block: Block)] {
        self.clockMillis = max(self.clockMillis, clockMillis)
        let now = self.clockMillis
        let expired = blocks.keys.sorted().filter { id in
            let block = blocks[id]!
            return now > block.idleDeadlineMillis
        }
        return expired.map { ($0, remove($0)) }
    }

    public func holder(of shard: ShardID) -> TransactionID? { holders[shard] }

    /// Opens block `id` for `owner`.
    public mutating func begin(_ id: TransactionID, owner: UInt64, idleTimeoutMillis: UInt64) -> ShardFailure? {
        guard blocks[id] == nil else {
            return ShardFailure(.malformedOperation, message: "\(id) is already open")
        }
        guard blocks.count < limits.openTransactionsMax else {
            return ShardFailure(.limitExceeded, message: "\(blocks.count) transaction blocks are open in this shard group; open_transactions_max = \(limits.openTransactionsMax)")
        }
        guard idleTimeoutMillis > 0, idleTimeoutMillis <= limits.idleTimeoutMillisMax else {
            return ShardFailure(.limitExceeded, message: "idle timeout of \(idleTimeoutMillis) ms is outside 1...idle_timeout_millis_max = \(limits.idleTimeoutMillisMax)")
        }
        blocks[id] = Block(owner: owner, idleTimeoutMillis: idleTimeoutMillis, lastStepMillis: clockMillis,
                           shards: [], log: [], statementCount: 0)
        return nil
    }

    /// Nil when `owner` may step block `id`; else why not.
    public func checkOpen(_ id: TransactionID, owner: UInt64) -> ShardFailure? {
        guard let block = blocks[id] else {
            return ShardFailure(.transactionAborted, message: "\(id) is not open in this shard group: it was aborted, after an error or after being idle for longer than its idle_in_transaction_session_timeout")
        }
        guard block.owner == owner else {
            return ShardFailure(.transactionAborted, message: "\(id) belongs to another gateway")
        }
        return nil
    }

    public enum LockOutcome: Sendable, Hashable {
        /// The block held the shard already.
        case held
        /// The block holds the shard from now on: open a transaction block on its file.
        case acquired
        /// Another block holds it: refused, retry later.
        case busy(TransactionID)
        /// Another block holds it, and that block waits, directly or through others, for this
        /// one: waiting would never end. The caller aborts this block.
        case deadlock(TransactionID)
    }

    /// Locks `shard` for the open block `id` and records its step time (a refusal counts as a
    /// step: the block's client is waiting, not idle).
    public mutating func lock(_ shard: ShardID, for id: TransactionID) -> LockOutcome {
        precondition(blocks[id] != nil, "checkOpen first")
        if let holder = holders[shard] {
            guard holder == id else {
                if waitChain(from: holder).contains(id) { return .deadlock(holder) }
                // A refused step still shows the client is there: waiting is not idling.
                blocks[id]!.lastStepMillis = clockMillis
                waitsFor[id] = holder
                return .busy(holder)
            }
            waitsFor[id] = nil
            blocks[id]!.lastStepMillis = clockMillis
            return .held
        }
        waitsFor[id] = nil
        holders[shard] = id
        blocks[id]!.shards.append(shard)
        blocks[id]!.lastStepMillis = clockMillis
        return .acquired
    }

    /// The blocks `start` waits for, transitively, in order (at most one per open block: the
    /// chain stops at a block that waits for none, or where it would repeat).
    func waitChain(from start: TransactionID) -> [TransactionID] {
        var chain: [TransactionID] = []
        var current = start
        while let next = waitsFor[current], blocks[next] != nil, !chain.contains(next), chain.count < blocks.count {
            chain.append(next)
            current = next
        }
        return chain
    }

    /// Nil when block `id` may add `count` statements to its log.
    public func checkRoom(_ id: TransactionID, statements count: Int) -> ShardFailure? {
        let total = blocks[id]!.statementCount + count
        guard total <= limits.statementsPerTransactionMax else {
            return ShardFailure(.limitExceeded, message: "the transaction would hold \(total) statements; statements_per_transaction_max = \(limits.statementsPerTransactionMax)")
        }
        return nil
    }

    /// Records a write that succeeded inside block `id`.
    public mutating func log(_ statements: [ShardStore.Statement], on shard: ShardID, for id: TransactionID) {
        precondition(holders[shard] == id, "a block writes only the shards it holds")
        blocks[id]!.log.append(LoggedWrite(shard: shard, statements: statements))
        blocks[id]!.statementCount += statements.count
    }

    /// Removes block `id` and releases its shards; the caller commits or rolls back their files.
    @discardableResult
    public mutating func remove(_ id: TransactionID) -> Block {
        let block = blocks.removeValue(forKey: id)!
        waitsFor[id] = nil
        for shard in block.shards {
            precondition(holders[shard] == id, "a block's shards are held by it")
            holders[shard] = nil
        }
        return block
    }

    /// Back to the state before the first operation (the shards were all removed).
    public mutating func removeAll() {
        clockMillis = 0
        blocks = [:]
        holders = [:]
        waitsFor = [:]
    }

    // MARK: Encoding (checkpoint digests and snapshots)

    static let formatVersion: UInt8 = 1

    /// Deterministic: blocks in id order, each block's shards and log in their own order.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.formatVersion)
        w.write(clockMillis)
        w.write(UInt32(blocks.count))
        for id in blocks.keys.sorted() {
            let block = blocks[id]!
            w.write(id.rawValue)
            w.write(block.owner)
            w.write(block.idleTimeoutMillis)
            w.write(block.lastStepMillis)
            w.write(UInt32(block.shards.count))
            for shard in block.shards { w.write(shard) }
            w.write(UInt32(block.log.count))
            for entry in block.log {
                w.write(entry.shard)
                w.write(entry.statements)
            }
            // 0: waits for none (ids are drawn from 1...).
            w.write(waitsFor[id]?.rawValue ?? 0)
        }
        return w.bytes
    }

    /// Decodes a table from a snapshot, checking what the state machine relies on: each shard
    /// held by one block, each logged write on a shard its block holds, the limits kept.
    public init(decoding bytes: [UInt8], limits: Limits = Limits(), operationLimits: ShardOperation.Limits = ShardOperation.Limits()) throws(DecodeError) {
        self.limits = limits
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "transaction table format version")
        clockMillis = try r.readU64("transaction clock")
        let count = try r.readCount("open transaction count", limit: limits.openTransactionsMax, bytesEach: 48)
        var previous: TransactionID?
        for _ in 0..<count {
            let id = TransactionID(try r.readU64("transaction id"))
            if let previous, !(previous < id) {
                throw .invalidValue(field: "transaction order", reason: "\(id) follows \(previous); ids must ascend")
            }
            previous = id
            var block = Block(owner: try r.readU64("transaction owner"), idleTimeoutMillis: try r.readU64("idle timeout"),
                              lastStepMillis: try r.readU64("last step"), shards: [], log: [], statementCount: 0)
            let shardCount = try r.readCount("held shard count", limit: Int(UInt32.max), bytesEach: 8)
            for _ in 0..<shardCount {
                let shard = try r.readShardID()
                guard holders[shard] == nil else {
                    throw .invalidValue(field: "held shard", reason: "\(shard) is held twice")
                }
                holders[shard] = id
                block.shards.append(shard)
            }
            let logCount = try r.readCount("logged write count", limit: limits.statementsPerTransactionMax, bytesEach: 12)
            for _ in 0..<logCount {
                let shard = try r.readShardID()
                guard holders[shard] == id else {
                    throw .invalidValue(field: "logged write", reason: "\(id) wrote \(shard), which it does not hold")
                }
                let statements = try r.readStatements(operationLimits)
                block.statementCount += statements.count
                guard block.statementCount <= limits.statementsPerTransactionMax else {
                    throw .limitExceeded(field: "statements per transaction", count: block.statementCount, limit: limits.statementsPerTransactionMax)
                }
                block.log.append(LoggedWrite(shard: shard, statements: statements))
            }
            let waited = try r.readU64("waits for")
            if waited != 0 { waitsFor[id] = TransactionID(waited) }
            blocks[id] = block
        }
        try r.finish()
    }
}
