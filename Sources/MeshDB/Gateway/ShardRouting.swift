import Consensus
import Crypto

/// Which shard of a table a row belongs to: SHA-256 over the encoded shard-key values, first
/// 8 bytes big-endian, modulo the shard count. SHA-256 and not Swift's `Hasher`, which is seeded
/// per process: every gateway must route a key to the same shard.
public enum ShardRouting {
    public static func shard(forKey values: [SQLiteValue], shardCount: UInt32) -> UInt32 {
        precondition(shardCount > 0, "a table has at least one shard")
        var writer = ByteWriter(capacity: 64)
        for value in values { writer.write(value) }
        let digest = Array(SHA256.hash(data: writer.bytes))
        let prefix = digest.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        return UInt32(prefix % UInt64(shardCount))
    }

    /// The shard of a row of a table with a hidden row id: routed like a one-column key.
    public static func shard(forRowID rowID: Int64, shardCount: UInt32) -> UInt32 {
        shard(forKey: [.integer(rowID)], shardCount: shardCount)
    }

    /// The statements a shard runs to create `spec`'s table: the planner's `shardDDL`, or the
    /// CREATE TABLE rendered from the columns when there is none.
    public static func shardDDL(for spec: CatalogTableSpec) -> [String] {
        spec.shardDDL.isEmpty ? [createTableSQL(for: spec)] : spec.shardDDL
    }

    /// The CREATE TABLE a shard runs for `spec` (one table per shard file) when the spec brings
    /// no shard DDL: columns, NOT NULL and the primary key.
    public static func createTableSQL(for spec: CatalogTableSpec) -> String {
        let columns = spec.columns.map { column in
            "\(quoteIdentifier(column.name)) \(column.type.sqliteType)\(column.notNull ? " NOT NULL" : "")"
        }
        let key = spec.primaryKey.isEmpty ? [] : ["PRIMARY KEY (\(spec.primaryKey.map(quoteIdentifier).joined(separator: ", ")))"]
        return "CREATE TABLE \(quoteIdentifier(spec.name)) (\((columns + key).joined(separator: ", ")))"
    }
}

extension CatalogColumnType {
    /// The SQLite declared type (its affinity decides how values are stored).
    var sqliteType: String {
        switch self {
        case .integer, .boolean: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        case .numeric: "NUMERIC"
        case .timestamp: "TEXT"
        }
    }
}
