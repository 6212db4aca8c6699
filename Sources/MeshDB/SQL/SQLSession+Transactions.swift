public import QueryPlanner

/// Transaction blocks: BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT, with
/// PostgreSQL's semantics at SERIALIZABLE (docs/wire.md, "Transactions"). Inside a block every
/// read and write of a shard runs as an ordered step of the block in its shard group
/// (`Gateway+Transactions.swift`): the block sees its own writes, no one else sees them before
/// COMMIT, and COMMIT applies them all or none.
extension SQLSession {
    /// What ReadyForQuery reports: 'I' idle, 'T' in a transaction block, 'E' in a failed one.
    public enum TransactionStatus: Sendable, Hashable {
        case idle
        case inTransaction
        /// A statement of the block failed: every statement but ROLLBACK (or COMMIT, which then
        /// rolls back) gets 25P02.
        case failed

        /// The ReadyForQuery status byte.
        public var statusByte: UInt8 {
            switch self {
            case .idle: UInt8(ascii: "I")
            case .inTransaction: UInt8(ascii: "T")
            case .failed: UInt8(ascii: "E")
            }
        }
    }

    /// Idle timeout of a transaction block when the session sets none: longer than any pause a
    /// live client makes between statements, short enough that a vanished gateway's blocks free
    /// their shards soon. Shorter than `Gateway.lockWaitTimeout`.
    public static let idleInTransactionTimeoutDefaultMillis: UInt64 = 60_000

    /// The open block, for work the wire server does itself through the gateway (COPY FROM
    /// passes it to `Gateway.insert(into:rows:transaction:)`); nil outside a block. Check
    /// `transactionStatus` first: a failed block takes no more work (`refuseIfTransactionFailed`).
    public var currentTransaction: GatewayTransaction? { transaction }

    public var transactionStatus: TransactionStatus {
        guard transaction != nil else { return .idle }
        return transactionFailed ? .failed : .inTransaction
    }

    /// Ends the session: an open block is rolled back at once rather than left to its idle
    /// timeout. The wire server calls this when the client goes away. The block stays the
    /// session's, failed: a statement still running (actor calls interleave at each await) then
    /// ends in the rolled-back block, or begins one nobody commits and the idle timeout aborts,
    /// and never falls back to committing on its own.
    public func close() async {
        guard let transaction else { return }
        transactionFailed = true
        try? await gateway.rollBack(transaction)
    }

    func runTransactionControl(_ control: TransactionStatement) async throws(SQLError) -> SQLResult {
        switch control.kind {
        case .begin:
            try refuseIfTransactionFailed()
            // PostgreSQL warns and carries on when a block is already open.
            if transaction == nil {
                transaction = gateway.newTransaction(idleTimeoutMillis: settings.idleInTransactionTimeoutMillis)
                transactionFailed = false
            }
            return SQLResult(tag: "BEGIN")
        case .commit:
            guard let transaction else { return SQLResult(tag: "COMMIT") }
            let failed = transactionFailed
            self.transaction = nil
            transactionFailed = false
            if failed {
                try? await gateway.rollBack(transaction)
                return SQLResult(tag: "ROLLBACK")
            }
            do {
                try await gateway.commit(transaction)
            } catch {
                throw Self.sqlError(error, settings: settings)
            }
            return SQLResult(tag: "COMMIT")
        case .rollback:
            guard let transaction else { return SQLResult(tag: "ROLLBACK") }
            self.transaction = nil
            transactionFailed = false
            do {
                try await gateway.rollBack(transaction)
            } catch {
                throw Self.sqlError(error, settings: settings)
            }
            return SQLResult(tag: "ROLLBACK")
        }
    }

    /// DDL inside a block runs at once, through the metadata group, and ROLLBACK does not undo it
    /// (docs/wire.md). Once the block holds shards, DDL could need one of them (DROP of a table
    /// the block wrote) and would wait for the block itself, so it is refused then.
    func refuseDDLInBusyBlock(_ statement: Statement) throws(SQLError) {
        guard let transaction, transaction.group != nil else { return }
        switch statement {
        case .createTable, .createIndex, .createView, .drop, .reindex, .alterTable:
            throw SQLError(.featureNotSupported,
                           "DDL inside a transaction block that has already read or written is not supported: run it before the block's first query, or outside the block",
                           position: statement.location.offset + 1)
        default:
            return
        }
    }

    public func refuseIfTransactionFailed() throws(SQLError) {
        guard transaction != nil, transactionFailed else { return }
        throw SQLError(.init("25P02"), "current transaction is aborted, commands ignored until end of transaction block")
    }

    /// After a statement of the open block failed: the block is aborted. Its shards are released
    /// now (the group already rolled the block back when a shard refused the statement; an error
    /// at the gateway leaves it open until this rollback), and the session answers 25P02 until
    /// ROLLBACK.
    public func failTransaction() async {
        guard let transaction, !transactionFailed else { return }
        transactionFailed = true
        try? await gateway.rollBack(transaction)
    }
}
