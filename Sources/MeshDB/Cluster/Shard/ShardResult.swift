public import Consensus

/// What one shard operation produced: the reply bytes PBFT sends to the client, which accepts
/// f+1 identical ones. Every field is therefore a function of the ordered requests alone: SQLite's
/// message text for a statement, never a file path or anything local to one replica.
public enum ShardResult: Sendable, Hashable {
    /// One entry per statement (one for a read, none for createShard/dropShard).
    case ok([ShardStore.StatementResult])
    case failure(ShardFailure)

    /// Version byte first, so that a later encoding can be told apart.
    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.formatVersion)
        switch self {
        case .ok(let results):
            w.write(UInt8(0))
            w.write(UInt32(results.count))
            for result in results {
                w.write(UInt64(result.rowsChanged))
                w.write(UInt32(result.columns.count))
                for column in result.columns { w.writeText(column) }
                w.write(UInt32(result.rows.count))
                for row in result.rows {
                    precondition(row.count == result.columns.count, "SQLite returns one value per column")
                    for value in row { w.write(value) }
                }
            }
        case .failure(let failure):
            w.write(UInt8(1))
            w.write(failure.kind.rawValue)
            w.write(UInt32(bitPattern: failure.sqliteExtendedCode))
            w.writeText(failure.message)
            w.write(failure.statementIndex != nil)
            w.write(UInt32(failure.statementIndex ?? 0))
        }
        return w.bytes
    }

    /// `ShardResult.ok(results).encoded().count`, computed without encoding.
    static func encodedByteCount(of results: [ShardStore.StatementResult]) -> Int {
        results.reduce(1 + 1 + 4) { total, result in
            let columns = result.columns.reduce(0) { $0 + 4 + $1.utf8.count }
            let values = result.rows.reduce(0) { sum, row in row.reduce(sum) { $0 + $1.encodedByteCount } }
            return total + 8 + 4 + columns + 4 + values
        }
    }

    /// Decodes a reply. Sizes are bounded by the bytes at hand: the reply was already bounded
    /// by Consensus's `resultBytesMax`, or, for a verified read, by the transport's frame limit.
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "result format version")
        switch try r.readU8("result") {
        case 0:
            let count = try r.readCount("statement result count", limit: Int(UInt32.max), bytesEach: 16)
            var results: [ShardStore.StatementResult] = []
            for _ in 0..<count {
                let changed = try r.readU64("rows changed")
                guard changed <= UInt64(Int.max) else {
                    throw .invalidValue(field: "rows changed", reason: "\(changed) does not fit an Int")
                }
                let columnCount = try r.readCount("column count", limit: Int(UInt32.max), bytesEach: 4)
                var columns: [String] = []
                for _ in 0..<columnCount { columns.append(try r.readText("column name", bytesMax: bytes.count)) }
                let rowCount = try r.readCount("row count", limit: Int(UInt32.max), bytesEach: max(1, columnCount))
                var rows: [[SQLiteValue]] = []
                for _ in 0..<rowCount {
                    var row: [SQLiteValue] = []
                    for _ in 0..<columnCount {
                        row.append(try r.readValue("value", textBytesMax: bytes.count, blobBytesMax: bytes.count))
                    }
                    rows.append(row)
                }
                results.append(ShardStore.StatementResult(rowsChanged: Int(changed), columns: columns, rows: rows))
            }
            self = .ok(results)
        case 1:
            let rawKind = try r.readU8("failure kind")
            guard let kind = ShardFailure.Kind(rawValue: rawKind) else { throw .unknownTag(field: "failure kind", tag: rawKind) }
            let code = Int32(bitPattern: try r.readU32("SQLite extended code"))
            let message = try r.readText("failure message", bytesMax: bytes.count)
            let hasIndex = try r.readBool("has statement index")
            let index = try r.readU32("statement index")
            guard hasIndex || index == 0 else {
                throw .invalidValue(field: "statement index", reason: "\(index) given without a statement")
            }
            self = .failure(ShardFailure(kind, sqliteExtendedCode: code, message: message,
                                         statementIndex: hasIndex ? Int(index) : nil))
        case let tag:
            throw .unknownTag(field: "result", tag: tag)
        }
        try r.finish()
    }
}

/// Why a shard operation was not applied. Nothing of it was: a write is one transaction.
public struct ShardFailure: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable, Hashable {
        /// SQLite refused a statement (constraint, syntax, missing table...): see the code.
        case sqlite = 1
        /// The operation bytes did not decode.
        case malformedOperation = 2
        case shardNotFound = 3
        case shardExists = 4
        /// A statement kind that is not allowed there (a write in a read, BEGIN in a write, ...).
        case statementRefused = 5
        /// A limit was hit; the message names it.
        case limitExceeded = 6
        /// Another transaction block holds the shard: nothing was done; retry later.
        case transactionBusy = 7
        /// The transaction block is not open (aborted after an error or an idle timeout).
        case transactionAborted = 8
        /// Waiting for the shard would have closed a cycle of waiting blocks: this block was
        /// aborted instead.
        case transactionDeadlock = 9

        /// The SQLSTATE for this kind; for `.sqlite`, see `ShardFailure.sqlState`.
        public var sqlState: String {
            switch self {
            case .sqlite: "XX000"
            case .malformedOperation: "08P01"
            case .shardNotFound: "42P01"
            case .shardExists: "42P07"
            case .statementRefused: "25006"
            case .limitExceeded: "53400"
            case .transactionBusy: "55P03"      // lock_not_available
            case .transactionAborted: "25P03"   // idle_in_transaction_session_timeout
            case .transactionDeadlock: "40P01"  // deadlock_detected
            }
        }
    }

    public let kind: Kind
    /// SQLite's extended result code for `.sqlite`; 0 otherwise.
    public let sqliteExtendedCode: Int32
    public let message: String
    /// The failing statement (0-based) of a write or createShard, when one is to blame.
    public let statementIndex: Int?

    public init(_ kind: Kind, sqliteExtendedCode: Int32 = 0, message: String, statementIndex: Int? = nil) {
        self.kind = kind
        self.sqliteExtendedCode = sqliteExtendedCode
        self.message = message
        self.statementIndex = statementIndex
    }

    /// An operation that did not decode: over a limit (named in the message, 53400) or malformed
    /// (08P01). Ordered writes and verified reads alike answer with it.
    public init(decoding error: DecodeError) {
        let kind: Kind = if case .limitExceeded = error { .limitExceeded } else { .malformedOperation }
        self.init(kind, message: "malformed operation: \(error)")
    }

    /// The SQLSTATE the gateway reports (`GatewayError.sqlState(forSQLiteCode:message:)` for
    /// SQLite's errors).
    public var sqlState: String {
        kind == .sqlite ? GatewayError.sqlState(forSQLiteCode: sqliteExtendedCode, message: message) : kind.sqlState
    }

    public var description: String {
        var text = "\(sqlState) \(message)"
        if kind == .sqlite { text += " (SQLite code \(sqliteExtendedCode))" }
        if let statementIndex { text += " at statement \(statementIndex)" }
        return text
    }
}
