public import Consensus

/// One command for a shard group, carried as `Request.operation` and ordered by PBFT. The bytes
/// come from a client that may be faulty, so decoding checks every count and size against
/// `ShardOperation.Limits` before allocating and names the limit it hit.
public enum ShardOperation: Sendable, Hashable {
    /// Creates an empty shard file and runs `ddl` on it in one transaction.
    case createShard(ShardID, ddl: [String])
    /// Deletes the shard and its file.
    case dropShard(ShardID)
    /// Applies `statements` as one batch: one transaction, all or nothing.
    case write(ShardID, statements: [ShardStore.Statement])
    /// A linearizable read: ordered through PBFT, but it must not change anything, so only a
    /// single SELECT statement is accepted.
    case read(ShardID, sql: String, parameters: [SQLiteValue])
    /// One step of a transaction block (`ShardTransactionTable`): begin, a write or read inside
    /// it, commit or rollback.
    case transaction(TransactionOperation)
    /// Advances the group's ordered clock to the gateway's clock, aborting the transaction blocks
    /// idle for longer than their timeout. A gateway sends it while a write waits on a shard that
    /// a transaction block holds, so that an abandoned block cannot hold the shard forever.
    case tick(clockMillis: UInt64)

    public struct Limits: Sendable, Hashable {
        /// Largest encoded operation. Matches Consensus's default `operationBytesMax` (128 KiB).
        public var operationBytesMax = 128 * 1024
        /// Most statements in one write, or DDL statements in one createShard.
        public var statementsPerOperationMax = 1_000
        /// Most parameters bound to one statement (SQLite's default SQLITE_MAX_VARIABLE_NUMBER).
        public var parametersPerStatementMax = 32_766
        /// Longest SQL text of one statement.
        public var sqlBytesMax = 64 * 1024
        /// Longest text parameter.
        public var textBytesMax = 64 * 1024
        /// Longest blob parameter (large blobs go to the chunk store, not through PBFT).
        public var blobBytesMax = 64 * 1024

        public init() {}
    }

    /// The shard the operation names, if it names one.
    public var shardID: ShardID? {
        switch self {
        case .createShard(let id, _), .dropShard(let id), .write(let id, _), .read(let id, _, _): id
        case .transaction(let operation): operation.step.shardID
        case .tick: nil
        }
    }

    private enum Tag: UInt8 {
        case createShard = 1, dropShard = 2, write = 3, read = 4, transaction = 5, tick = 6
    }

    /// Version byte first, so that a later encoding can be told apart.
    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.write(Self.formatVersion)
        switch self {
        case .createShard(let id, let ddl):
            w.write(Tag.createShard.rawValue)
            w.write(id)
            w.write(UInt32(ddl.count))
            for sql in ddl { w.writeText(sql) }
        case .dropShard(let id):
            w.write(Tag.dropShard.rawValue)
            w.write(id)
        case .write(let id, let statements):
            w.write(Tag.write.rawValue)
            w.write(id)
            w.write(statements)
        case .read(let id, let sql, let parameters):
            w.write(Tag.read.rawValue)
            w.write(id)
            w.writeText(sql)
            w.write(parameters)
        case .transaction(let operation):
            w.write(Tag.transaction.rawValue)
            w.write(operation.id.rawValue)
            w.write(operation.clockMillis)
            w.write(operation.idleTimeoutMillis)
            w.write(operation.step.tag)
            switch operation.step {
            case .begin, .commit, .rollback:
                break
            case .write(let id, let statements):
                w.write(id)
                w.write(statements)
            case .read(let id, let sql, let parameters):
                w.write(id)
                w.writeText(sql)
                w.write(parameters)
            }
        case .tick(let clockMillis):
            w.write(Tag.tick.rawValue)
            w.write(clockMillis)
        }
        return w.bytes
    }

    /// Decodes untrusted bytes; never traps.
    public init(decoding bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) {
        guard bytes.count <= limits.operationBytesMax else {
            throw .limitExceeded(field: "operation bytes", count: bytes.count, limit: limits.operationBytesMax)
        }
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "operation format version")
        let rawTag = try r.readU8("operation")
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(field: "operation", tag: rawTag) }
        switch tag {
        case .createShard:
            let id = try r.readShardID()
            let count = try r.readCount("DDL statement count", limit: limits.statementsPerOperationMax, bytesEach: 4)
            var ddl: [String] = []
            ddl.reserveCapacity(count)
            for _ in 0..<count { ddl.append(try r.readText("DDL statement", bytesMax: limits.sqlBytesMax)) }
            self = .createShard(id, ddl: ddl)
        case .dropShard:
            self = .dropShard(try r.readShardID())
        case .write:
            let id = try r.readShardID()
            self = .write(id, statements: try r.readStatements(limits))
        case .read:
            let id = try r.readShardID()
            let sql = try r.readText("read SQL", bytesMax: limits.sqlBytesMax)
            self = .read(id, sql: sql, parameters: try r.readParameters(limits))
        case .transaction:
            let id = TransactionID(try r.readU64("transaction id"))
            let clockMillis = try r.readU64("transaction clock")
            let idleTimeoutMillis = try r.readU64("transaction idle timeout")
            let rawStep = try r.readU8("transaction step")
            let step: TransactionStep
            switch rawStep {
            case TransactionStep.beginTag: step = .begin
            case TransactionStep.commitTag: step = .commit
            case TransactionStep.rollbackTag: step = .rollback
            case TransactionStep.writeTag:
                let shard = try r.readShardID()
                step = .write(shard, statements: try r.readStatements(limits))
            case TransactionStep.readTag:
                let shard = try r.readShardID()
                let sql = try r.readText("read SQL", bytesMax: limits.sqlBytesMax)
                step = .read(shard, sql: sql, parameters: try r.readParameters(limits))
            default:
                throw .unknownTag(field: "transaction step", tag: rawStep)
            }
            self = .transaction(TransactionOperation(id: id, clockMillis: clockMillis, idleTimeoutMillis: idleTimeoutMillis, step: step))
        case .tick:
            self = .tick(clockMillis: try r.readU64("clock"))
        }
        try r.finish()
    }
}

extension ShardOperation {
    /// Splits `statements` into the fewest ordered writes to `id` that keep each one within
    /// `limits` (statements per operation, encoded bytes) and at most `statementsMax`
    /// statements, in order. A statement too large on its own gets a write of its own, which the
    /// size check before submitting then refuses with its limit named.
    static func writes(to id: ShardID, _ statements: [ShardStore.Statement], limits: Limits,
                       statementsMax: Int) -> [[ShardStore.Statement]] {
        // Version, tag, the shard id and the statement count.
        let header = 1 + 1 + 4 + id.table.utf8.count + 4 + 4
        var batches: [[ShardStore.Statement]] = []
        var current: [ShardStore.Statement] = []
        var bytes = header
        for statement in statements {
            let size = 4 + statement.sql.utf8.count + 4 + statement.parameters.reduce(0) { $0 + $1.encodedByteCount }
            if !current.isEmpty, bytes + size > limits.operationBytesMax
                || current.count >= min(statementsMax, limits.statementsPerOperationMax) {
                batches.append(current)
                current = []
                bytes = header
            }
            current.append(statement)
            bytes += size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}

extension ByteWriter {
    mutating func write(_ statements: [ShardStore.Statement]) {
        write(UInt32(statements.count))
        for statement in statements {
            writeText(statement.sql)
            write(statement.parameters)
        }
    }

    mutating func write(_ id: ShardID) {
        writeText(id.table)
        write(id.shard)
    }

    mutating func write(_ parameters: [SQLiteValue]) {
        write(UInt32(parameters.count))
        for value in parameters { write(value) }
    }
}

extension ByteReader {
    mutating func readStatements(_ limits: ShardOperation.Limits) throws(DecodeError) -> [ShardStore.Statement] {
        let count = try readCount("statement count", limit: limits.statementsPerOperationMax, bytesEach: 8)
        var statements: [ShardStore.Statement] = []
        statements.reserveCapacity(count)
        for _ in 0..<count {
            let sql = try readText("statement SQL", bytesMax: limits.sqlBytesMax)
            statements.append(ShardStore.Statement(sql, try readParameters(limits)))
        }
        return statements
    }

    mutating func readShardID() throws(DecodeError) -> ShardID {
        let table = try readText("table name", bytesMax: ShardID.tableNameBytesMax)
        let shard = try readU32("shard number")
        do {
            return try ShardID(table: table, shard: shard)
        } catch {
            throw .invalidValue(field: "shard", reason: error.description)
        }
    }

    mutating func readParameters(_ limits: ShardOperation.Limits) throws(DecodeError) -> [SQLiteValue] {
        let count = try readCount("parameter count", limit: limits.parametersPerStatementMax, bytesEach: 1)
        var values: [SQLiteValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            values.append(try readValue("parameter", textBytesMax: limits.textBytesMax, blobBytesMax: limits.blobBytesMax))
        }
        return values
    }
}
