import Consensus

/// Transaction blocks (docs/wire.md, "Transactions"): `ShardTransactionTable` decides, this
/// extension applies its decisions to the shard files. A block runs its statements inside an
/// open SQLite transaction on each shard it holds; COMMIT commits them all in one ordered
/// operation, so within one shard group a block is all or nothing. Any failing statement aborts
/// the whole block, as PostgreSQL does.
extension ShardStateMachine {
    /// The open blocks, for tests and `meshdb status`.
    public var transactionTable: ShardTransactionTable { transactions }

    func execute(_ operation: TransactionOperation, client: UInt64) -> ShardResult {
        advanceClock(to: operation.clockMillis)
        let id = operation.id
        let owner = ShardTransactionTable.owner(ofClient: client)
        switch operation.step {
        case .begin:
            if let failure = transactions.begin(id, owner: owner, idleTimeoutMillis: operation.idleTimeoutMillis) {
                return .failure(failure)
            }
            return .ok([])
        case .write(let shard, let statements):
            if let failure = transactions.checkOpen(id, owner: owner) { return .failure(failure) }
            for (index, statement) in statements.enumerated() {
                if let refusal = StatementGuard.refusalForWrite(statement.sql) {
                    return abort(id, .failure(ShardFailure(.statementRefused, message: refusal, statementIndex: index)))
                }
            }
            if let failure = transactions.checkRoom(id, statements: statements.count) {
                return abort(id, .failure(failure))
            }
            return inBlock(id, on: shard) { store throws(ShardStoreError) in
                let results = try store.applyInTransactionBlock(statements)
                transactions.log(statements, on: shard, for: id)
                return results
            }
        case .read(let shard, let sql, let parameters):
            if let failure = transactions.checkOpen(id, owner: owner) { return .failure(failure) }
            if let refusal = StatementGuard.refusalForRead(sql) {
                return abort(id, .failure(ShardFailure(.statementRefused, message: refusal, statementIndex: 0)))
            }
            return inBlock(id, on: shard) { store throws(ShardStoreError) in
                [try store.queryInTransactionBlock(sql, parameters)]
            }
        case .commit:
            if let failure = transactions.checkOpen(id, owner: owner) { return .failure(failure) }
            let block = transactions.remove(id)
            for (position, shard) in block.shards.enumerated() {
                do {
                    try stores[shard]!.commitTransactionBlock()
                } catch {
                    // Shards carry no deferred constraints (foreign keys are off), so COMMIT fails
                    // only for a local reason, which `failure(from:)` turns into a crash-stop; a
                    // deterministic failure still leaves no block half open.
                    for rest in block.shards[(position + 1)...] { stores[rest]!.rollBackTransactionBlock() }
                    return .failure(failure(from: error))
                }
            }
            return .ok([])
        case .rollback:
            guard transactions.blocks[id] != nil else { return .ok([]) }
            if let failure = transactions.checkOpen(id, owner: owner) { return .failure(failure) }
            rollBack(transactions.remove(id))
            return .ok([])
        }
    }

    /// Advances the group clock and aborts the blocks that have been idle too long.
    func advanceClock(to clockMillis: UInt64) {
        for expired in transactions.advanceClock(to: clockMillis) {
            rollBack(expired.block)
        }
    }

    /// The refusal for an operation outside any block on a shard a block holds.
    func busyFailure(_ shard: ShardID) -> ShardResult? {
        guard let holder = transactions.holder(of: shard) else { return nil }
        return busy(shard, holder)
    }

    private func busy(_ shard: ShardID, _ holder: TransactionID) -> ShardResult {
        .failure(ShardFailure(.transactionBusy, message: "shard \(shard) is held by \(holder) until it ends"))
    }

    /// Locks `shard` for block `id` (opening a SQLite transaction on it if new) and runs `body`
    /// inside; an error aborts the whole block.
    private func inBlock(_ id: TransactionID, on shard: ShardID,
                         _ body: (ShardStore) throws(ShardStoreError) -> [ShardStore.StatementResult]) -> ShardResult {
        guard let store = stores[shard] else { return abort(id, notFound(shard)) }
        switch transactions.lock(shard, for: id) {
        case .busy(let holder):
            return busy(shard, holder)
        case .deadlock(let holder):
            return abort(id, .failure(ShardFailure(.transactionDeadlock,
                message: "deadlock detected: \(id) waits for shard \(shard), held by \(holder), which waits for \(id); \(id) was aborted (retry it)")))
        case .acquired:
            do {
                try store.beginTransactionBlock()
            } catch {
                return abort(id, .failure(failure(from: error)))
            }
        case .held:
            break
        }
        do {
            return .ok(try body(store))
        } catch {
            return abort(id, .failure(failure(from: error)))
        }
    }

    /// Rolls block `id` back everywhere and passes `result` on.
    private func abort(_ id: TransactionID, _ result: ShardResult) -> ShardResult {
        rollBack(transactions.remove(id))
        return result
    }

    private func rollBack(_ block: ShardTransactionTable.Block) {
        for shard in block.shards { stores[shard]?.rollBackTransactionBlock() }
    }

    /// Reopens the blocks of a restored transaction table on the restored shard files: each held
    /// shard gets its SQLite transaction again and the block's logged writes run in order, which
    /// gives the rows the block had, because execution is deterministic. `restore` has replayed
    /// the logs on the staged files already, so a failure here is this node's own (its disk); it
    /// throws, and nothing stays open then.
    func reopenBlocks(_ table: ShardTransactionTable) throws(StateMachineError) {
        transactions = table
        for id in table.blocks.keys.sorted() {
            let block = table.blocks[id]!
            do throws(ShardStoreError) {
                for shard in block.shards {
                    guard let store = stores[shard] else {
                        throw ShardStoreError.snapshotFailed("\(id) holds shard \(shard), which the snapshot lacks")
                    }
                    try store.beginTransactionBlock()
                }
                for entry in block.log { _ = try stores[entry.shard]!.applyInTransactionBlock(entry.statements) }
            } catch {
                for other in table.blocks.values { rollBack(other) }
                transactions.removeAll()
                throw .malformedSnapshot("shard snapshot: \(id) does not replay: \(error)")
            }
        }
    }
}
