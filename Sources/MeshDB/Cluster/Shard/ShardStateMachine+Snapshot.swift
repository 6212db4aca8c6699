public import Consensus
import Crypto
import Foundation

/// Checkpoint digests, snapshots and state transfer (OSDI'99 §4.3, TOCS'02 §5.3).
extension ShardStateMachine {
    /// SHA-256 over the shards in name order, each as (table, shard, `ShardStore.logicalDigest()`
    /// of the committed rows), then the open transaction blocks (`ShardTransactionTable.encoded()`,
    /// whose logs determine the uncommitted rows): it covers the rows and the schema, not the
    /// file's page layout.
    public var stateDigest: Consensus.Digest {
        var hasher = SHA256()
        var w = ByteWriter(capacity: 64)
        w.write(UInt32(stores.count))
        hasher.update(data: w.bytes)
        for id in shardIDs {
            var entry = ByteWriter(capacity: 96)
            entry.writeText(id.table)
            entry.write(id.shard)
            do {
                entry.writeBytes(try stores[id]!.logicalDigest())
            } catch {
                preconditionFailure("cannot digest shard \(id): \(error). Stopping; the node recovers through PBFT")
            }
            hasher.update(data: entry.bytes)
        }
        hasher.update(data: transactions.encoded())
        return Consensus.Digest(hasher.finalize())
    }

    static let snapshotMagic: [UInt8] = Array("MSHS".utf8)
    /// 2: the transaction table follows the shards.
    static let snapshotFormatVersion: UInt8 = 2

    /// Every shard in name order: its table, shard number and the bytes of a consistent copy of
    /// its committed rows (SQLite's online backup); then the open transaction blocks with their
    /// logs, which `restore` replays. A local failure to write or read the copy
    /// stops the process, as in `execute`.
    ///
    /// The Replica digests these bytes for its checkpoints, so replicas must produce the same
    /// file bytes, not just the same rows. They do when they run the same SQLite version: SQLite
    /// lays out pages deterministically for the same statements, a restored file is a page copy,
    /// and `ShardStore.snapshotBytes()` fixes the header fields that record a file's history
    /// (tested). Replicas on different SQLite versions could disagree; see `stateDigest` for a
    /// digest that does not depend on layout.
    public func snapshot() -> [UInt8] {
        var w = ByteWriter(capacity: 4096)
        w.writeRaw(Self.snapshotMagic)
        w.write(Self.snapshotFormatVersion)
        w.write(UInt32(stores.count))
        for id in shardIDs {
            let bytes: [UInt8]
            do {
                bytes = try stores[id]!.snapshotBytes()
            } catch {
                preconditionFailure("cannot snapshot shard \(id): \(error). Stopping; the node recovers through PBFT")
            }
            precondition(bytes.count <= Int(UInt32.max), "a shard file of \(bytes.count) bytes does not fit a snapshot entry")
            w.writeText(id.table)
            w.write(id.shard)
            w.writeBytes(bytes)
        }
        w.writeBytes(transactions.encoded())
        return w.bytes
    }

    /// Replaces every shard by those in `snapshot`. Everything is checked first: the encoding,
    /// the names (in strictly ascending order, so one state has one encoding), and that each file
    /// opens and passes SQLite's integrity check. Only then are the current shards replaced; a
    /// malformed snapshot throws and leaves them untouched.
    public func restore(from snapshot: [UInt8]) throws(StateMachineError) {
        let entries: [(id: ShardID, file: [UInt8])]
        let table: ShardTransactionTable
        do {
            (entries, table) = try Self.decodeSnapshot(snapshot, transactionLimits: transactions.limits, operationLimits: limits)
        } catch {
            throw .malformedSnapshot("shard snapshot: \(error)")
        }
        let staging = stagingDirectory
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            preconditionFailure("cannot create \(staging): \(error). Stopping; the node recovers through PBFT")
        }
        for entry in entries {
            let staged = (staging as NSString).appendingPathComponent(entry.id.fileName)
            guard FileManager.default.createFile(atPath: staged, contents: Data(entry.file)) else {
                preconditionFailure("cannot write \(staged). Stopping; the node recovers through PBFT")
            }
            do {
                let store = try openStore(at: staged)
                defer { store.close() }
                guard try store.integrityCheck() else {
                    throw ShardStoreError.snapshotFailed("integrity_check failed")
                }
                _ = try store.logicalDigest()
                // The open blocks' writes on this shard must replay (each shard has one holder,
                // so its log entries replay alone); rolled back here, replayed for real below.
                let logged = table.blocks.keys.sorted().flatMap { id in table.blocks[id]!.log.filter { $0.shard == entry.id } }
                if !logged.isEmpty {
                    try store.beginTransactionBlock()
                    defer { store.rollBackTransactionBlock() }
                    for write in logged { _ = try store.applyInTransactionBlock(write.statements) }
                }
            } catch {
                throw .malformedSnapshot("shard snapshot: shard \(entry.id) is not a sound database, or its open transaction blocks do not replay: \(error)")
            }
        }
        // Validated: replace the current shards. A failure from here on is this node's disk.
        removeAllShards()
        for entry in entries {
            let staged = (staging as NSString).appendingPathComponent(entry.id.fileName)
            do {
                try FileManager.default.moveItem(atPath: staged, toPath: path(of: entry.id))
                stores[entry.id] = try openStore(entry.id)
            } catch {
                preconditionFailure("cannot install shard \(entry.id) from \(staged): \(error). Stopping; the node recovers through PBFT")
            }
        }
        try reopenBlocks(table)
    }

    static func decodeSnapshot(
        _ bytes: [UInt8], transactionLimits: ShardTransactionTable.Limits = ShardTransactionTable.Limits(),
        operationLimits: ShardOperation.Limits = ShardOperation.Limits()
    ) throws(DecodeError) -> (entries: [(id: ShardID, file: [UInt8])], transactions: ShardTransactionTable) {
        var r = ByteReader(bytes)
        for expected in snapshotMagic {
            guard try r.readU8("snapshot magic") == expected else {
                throw .invalidValue(field: "snapshot magic", reason: "not a shard snapshot")
            }
        }
        try r.expectFormatVersion(snapshotFormatVersion, "snapshot format version")
        let count = try r.readCount("shard count", limit: Int(UInt32.max), bytesEach: 9)
        var entries: [(id: ShardID, file: [UInt8])] = []
        for _ in 0..<count {
            let table = try r.readText("table name", bytesMax: ShardID.tableNameBytesMax)
            let shard = try r.readU32("shard number")
            let id: ShardID
            do {
                id = try ShardID(table: table, shard: shard)
            } catch {
                throw .invalidValue(field: "shard", reason: error.description)
            }
            if let previous = entries.last?.id, !(previous < id) {
                throw .invalidValue(field: "shard order", reason: "\(id) follows \(previous); shards must be in strictly ascending order")
            }
            let file = try r.readBytes("shard file", limit: r.remaining)
            guard file.count >= 100, Array(file.prefix(16)) == Array("SQLite format 3\0".utf8) else {
                throw .invalidValue(field: "shard file", reason: "\(id) is not an SQLite database file")
            }
            entries.append((id, file))
        }
        let table = try ShardTransactionTable(decoding: try r.readBytes("transaction table", limit: r.remaining),
                                              limits: transactionLimits, operationLimits: operationLimits)
        try r.finish()
        for shard in table.holders.keys.sorted() where !entries.contains(where: { $0.id == shard }) {
            throw .invalidValue(field: "held shard", reason: "a transaction holds \(shard), which the snapshot lacks")
        }
        return (entries, table)
    }
}
