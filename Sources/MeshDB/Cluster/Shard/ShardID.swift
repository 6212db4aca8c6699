/// Names one shard replica: a table and a shard number. Its file is `<table>.<shard>.db` inside
/// the state machine's directory. The table name is restricted to lowercase ASCII letters, digits
/// and underscores (not starting with a digit) so that a name can never escape the directory
/// ("../x", "/etc"), never collides on a case-insensitive file system, and means the same thing
/// as the unquoted SQL identifier it came from (which PostgreSQL folds to lowercase).
public struct ShardID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Longest table name, in UTF-8 bytes (PostgreSQL's NAMEDATALEN - 1).
    public static let tableNameBytesMax = 63
    /// Shard numbers run 0..<shardCountMax; the catalog allows at most this many shards per table.
    public static let shardCountMax = 256

    public let table: String
    public let shard: UInt32

    /// Validates both parts; the error names the rule that was broken.
    public init(table: String, shard: UInt32) throws(ShardIDError) {
        try Self.validate(tableName: table)
        guard shard < UInt32(Self.shardCountMax) else {
            throw .shardOutOfRange(shard, limit: Self.shardCountMax)
        }
        self.table = table
        self.shard = shard
    }

    public static func validate(tableName name: String) throws(ShardIDError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw .invalidTableName(name, reason: "empty") }
        guard bytes.count <= tableNameBytesMax else {
            throw .invalidTableName(String(name.prefix(tableNameBytesMax)) + "...",
                                    reason: "longer than table_name_bytes_max = \(tableNameBytesMax)")
        }
        let allowed = bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
        guard allowed, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0]) else {
            throw .invalidTableName(name, reason: "use lowercase letters, digits and underscores, not starting with a digit")
        }
    }

    /// The shard's file name inside the state machine's directory.
    public var fileName: String { "\(table).\(shard).db" }

    /// The inverse of `fileName`, for files found on disk; nil for anything else.
    init?(fileName: String) {
        guard fileName.hasSuffix(".db") else { return nil }
        let stem = fileName.dropLast(3)
        guard let dot = stem.lastIndex(of: "."), let shard = UInt32(stem[stem.index(after: dot)...]),
              String(shard) == stem[stem.index(after: dot)...],
              let id = try? ShardID(table: String(stem[..<dot]), shard: shard)
        else { return nil }
        self = id
    }

    /// By table name (plain byte order: names are ASCII), then shard number.
    public static func < (lhs: ShardID, rhs: ShardID) -> Bool {
        lhs.table != rhs.table ? Array(lhs.table.utf8).lexicographicallyPrecedes(Array(rhs.table.utf8)) : lhs.shard < rhs.shard
    }

    public var description: String { "\(table)#\(shard)" }
}

public enum ShardIDError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidTableName(String, reason: String)
    case shardOutOfRange(UInt32, limit: Int)

    public var description: String {
        switch self {
        case .invalidTableName(let name, let reason): "invalid table name \"\(name)\": \(reason)"
        case .shardOutOfRange(let shard, let limit): "shard \(shard) is out of range: shard_count_max = \(limit)"
        }
    }
}
