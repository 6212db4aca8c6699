public import Consensus

/// Checkpoints and state transfer of the catalog (OSDI'99 §4.3): one canonical encoding per
/// state, records in key order, so equal catalogs give equal bytes on every replica.
extension CatalogStateMachine {
    static let snapshotMagic: [UInt8] = Array("MCAT".utf8)
    /// 2: object ids, the catalog version, row id counters, richer table specs, indexes and views.
    /// 3: users (SCRAM verifiers).
    /// 4: named blobs. Version 3 snapshots (no blobs) are still read.
    static let snapshotFormatVersion: UInt8 = 4

    public var stateDigest: Consensus.Digest { Consensus.Digest.of(snapshot()) }

    public func snapshot() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.writeRaw(Self.snapshotMagic)
        w.write(Self.snapshotFormatVersion)
        w.write(nextObjectID)
        w.write(version)
        let nodes = sortedNodes
        w.write(UInt32(nodes.count))
        for node in nodes { w.write(node) }
        let groups = sortedGroups
        w.write(UInt32(groups.count))
        for group in groups { w.write(group) }
        let tables = sortedTables
        w.write(UInt32(tables.count))
        for table in tables {
            w.write(table.spec)
            w.write(table.id)
            w.write(table.createdAtSequence)
            w.write(UInt32(table.shardGroups.count))
            for group in table.shardGroups { w.write(group) }
            w.write(UInt64(bitPattern: table.nextRowID))
        }
        let indexes = sortedIndexes
        w.write(UInt32(indexes.count))
        for index in indexes { w.write(index) }
        let views = sortedViews
        w.write(UInt32(views.count))
        for view in views { w.write(view) }
        let users = sortedUsers
        w.write(UInt32(users.count))
        for user in users { w.write(user) }
        let blobs = sortedBlobs
        w.write(UInt32(blobs.count))
        for blob in blobs { w.write(blob) }
        return w.bytes
    }

    /// Decodes and checks the whole snapshot (encoding, canonical order, every record's rules,
    /// references between records, limits) before replacing anything.
    public mutating func restore(from snapshot: [UInt8]) throws(StateMachineError) {
        do {
            let decoded = try Self.decodeSnapshot(snapshot, limits)
            nodes = decoded.nodes
            groups = decoded.groups
            tables = decoded.tables
            indexes = decoded.indexes
            views = decoded.views
            users = decoded.users
            blobs = decoded.blobs
            nextObjectID = decoded.nextObjectID
            version = decoded.version
        } catch {
            throw .malformedSnapshot("catalog snapshot: \(error)")
        }
    }

    private static func decodeSnapshot(_ bytes: [UInt8], _ limits: CatalogLimits) throws(SnapshotError) -> CatalogStateMachine {
        var r = ByteReader(bytes)
        var catalog = CatalogStateMachine(limits: limits)
        do {
            for expected in snapshotMagic where try r.readU8("snapshot magic") != expected {
                throw DecodeError.invalidValue(field: "snapshot magic", reason: "not a catalog snapshot")
            }
            let formatVersion = try r.readU8("snapshot format version")
            guard formatVersion == 3 || formatVersion == snapshotFormatVersion else {
                throw DecodeError.invalidValue(field: "snapshot format version", reason: "\(formatVersion), expected 3 or \(snapshotFormatVersion)")
            }
            catalog.nextObjectID = try r.readU64("next object id")
            guard catalog.nextObjectID >= firstObjectID else {
                throw DecodeError.invalidValue(field: "next object id", reason: "\(catalog.nextObjectID) is below \(firstObjectID)")
            }
            catalog.version = try r.readU64("catalog version")
            let nodeCount = try r.readCount("node count", limit: limits.nodesMax, bytesEach: 20)
            var keys: Set<String> = []
            for _ in 0..<nodeCount {
                let node = try r.readNode(limits)
                try validate(node, limits)
                guard catalog.nodes.keys.allSatisfy({ $0 < node.index }) else {
                    throw DecodeError.invalidValue(field: "node order", reason: "node \(node.index) is out of order or repeated")
                }
                guard keys.insert(node.publicKeyHex).inserted else {
                    throw DecodeError.invalidValue(field: "node key", reason: "node \(node.index) repeats another node's public key")
                }
                catalog.nodes[node.index] = node
            }
            let groupCount = try r.readCount("group count", limit: limits.groupsMax, bytesEach: 16)
            for _ in 0..<groupCount {
                let group = try r.readGroup(limits)
                try validate(group, nodes: catalog.nodes, limits)
                guard catalog.groups.keys.allSatisfy({ $0 < group.id }) else {
                    throw DecodeError.invalidValue(field: "group order", reason: "group \(group.id) is out of order or repeated")
                }
                catalog.groups[group.id] = group
            }
            let tableCount = try r.readCount("table count", limit: limits.tablesMax, bytesEach: 30)
            var previous: String?
            var ids: Set<UInt64> = []
            for _ in 0..<tableCount {
                let spec = try r.readTableSpec(limits)
                try validate(spec, limits)
                try checkOrder(&previous, spec.name, "table")
                let id = try r.readU64("table id")
                guard id >= firstObjectID, id < catalog.nextObjectID, ids.insert(id).inserted else {
                    throw DecodeError.invalidValue(field: "table id", reason: "\(id) of \"\(spec.name)\" is repeated or outside \(firstObjectID)..<\(catalog.nextObjectID)")
                }
                let createdAt = try r.readU64("created at sequence")
                let shardCount = try r.readCount("shard map count", limit: ShardID.shardCountMax, bytesEach: 4)
                guard shardCount == Int(spec.shardCount) else {
                    throw DecodeError.invalidValue(field: "shard map", reason: "table \"\(spec.name)\" maps \(shardCount) shards, not \(spec.shardCount)")
                }
                var shardGroups: [UInt32] = []
                for shard in 0..<shardCount {
                    let group = try r.readU32("shard group")
                    guard catalog.groups[group] != nil else {
                        throw DecodeError.invalidValue(field: "shard group", reason: "shard \(shard) of \"\(spec.name)\" names unknown group \(group)")
                    }
                    shardGroups.append(group)
                }
                let nextRowID = Int64(bitPattern: try r.readU64("next row id"))
                guard nextRowID >= 1 else {
                    throw DecodeError.invalidValue(field: "next row id", reason: "\(nextRowID) of \"\(spec.name)\" is below 1")
                }
                catalog.tables[spec.name] = CatalogTable(spec: spec, id: id, createdAtSequence: createdAt, shardGroups: shardGroups,
                                                         nextRowID: nextRowID)
            }
            // Indexes and views go through the commands that create them, which check every
            // rule between records: one namespace, an index's table and columns, its uniqueness.
            let indexCount = try r.readCount("index count", limit: limits.indexesMax, bytesEach: 20)
            previous = nil
            for _ in 0..<indexCount {
                let index = try r.readIndex(limits)
                try checkOrder(&previous, index.name, "index")
                _ = try catalog.createIndex(index, ifNotExists: false)
            }
            let viewCount = try r.readCount("view count", limit: limits.viewsMax, bytesEach: 12)
            previous = nil
            for _ in 0..<viewCount {
                let view = try r.readView(limits)
                try checkOrder(&previous, view.name, "view")
                _ = try catalog.createView(view, ifNotExists: false)
            }
            let userCount = try r.readCount("user count", limit: limits.usersMax, bytesEach: 16)
            previous = nil
            for _ in 0..<userCount {
                let user = try r.readUser(limits)
                try checkOrder(&previous, user.name, "user")
                _ = try catalog.createUser(user)
            }
            if formatVersion >= 4 {
                let blobCount = try r.readCount("blob count", limit: limits.blobsMax, bytesEach: 62)
                previous = nil
                for _ in 0..<blobCount {
                    let blob = try r.readBlob(limits)
                    try checkOrder(&previous, blob.name, "blob")
                    _ = try catalog.putBlob(blob)
                }
            }
            try r.finish()
        } catch let error as DecodeError {
            throw .decode(error)
        } catch let error as CatalogError {
            throw .invalidRecord(error)
        } catch {
            preconditionFailure("only decode and record errors are thrown here: \(error)")
        }
        return catalog
    }

    /// Records come in strictly ascending name order: the one canonical order.
    private static func checkOrder(_ previous: inout String?, _ name: String, _ kind: String) throws(DecodeError) {
        if let previous, !nameOrder(previous, name) {
            throw .invalidValue(field: "\(kind) order", reason: "\(kind) \"\(name)\" is out of order or repeated")
        }
        previous = name
    }

    private enum SnapshotError: Error, CustomStringConvertible {
        case decode(DecodeError)
        case invalidRecord(CatalogError)

        var description: String {
            switch self {
            case .decode(let error): error.description
            case .invalidRecord(let error): error.description
            }
        }
    }
}
