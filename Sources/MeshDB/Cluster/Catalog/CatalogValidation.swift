/// The rules a catalog record must keep, checked for every command and for every record of a
/// snapshot, so that a restored catalog is one that commands could have built.
extension CatalogStateMachine {
    static func validate(_ node: CatalogNode, _ limits: CatalogLimits) throws(CatalogError) {
        let key = Array(node.publicKeyHex.utf8)
        let isLowerHex = key.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        guard key.count == 64, isLowerHex else {
            throw .invalidParameter("node \(node.index): public key must be 64 lowercase hex digits (an Ed25519 key)")
        }
        guard !node.host.isEmpty, node.host.utf8.count <= limits.hostBytesMax, isPrintableWord(node.host) else {
            throw .invalidParameter("node \(node.index): host must be 1...\(limits.hostBytesMax) printable ASCII characters without spaces")
        }
        guard node.zone.utf8.count <= limits.zoneBytesMax, node.zone.isEmpty || isPrintableWord(node.zone) else {
            throw .invalidParameter("node \(node.index): zone must be at most \(limits.zoneBytesMax) printable ASCII characters without spaces")
        }
        guard node.port != 0, node.pgPort != 0 else {
            throw .invalidParameter("node \(node.index): ports must not be 0")
        }
    }

    static func validate(_ spec: CatalogTableSpec, _ limits: CatalogLimits) throws(CatalogError) {
        do {
            try ShardID.validate(tableName: spec.name)
        } catch {
            throw .invalidName(error.description)
        }
        guard !spec.name.hasPrefix("mesh_") else {
            throw CatalogError(sqlState: "42939", message: "table name \"\(spec.name)\" is reserved: mesh_ names are system tables")
        }
        guard !spec.columns.isEmpty else { throw .invalidDefinition("table \"\(spec.name)\" needs at least one column") }
        guard spec.columns.count <= limits.columnsMax else {
            throw CatalogError(sqlState: "54011", message: "table \"\(spec.name)\" has \(spec.columns.count) columns; columns_max = \(limits.columnsMax)")
        }
        var seen: Set<String> = []
        for column in spec.columns {
            do {
                try ShardID.validate(tableName: column.name)
            } catch {
                throw .invalidName("column of \"\(spec.name)\": " + error.description.replacingOccurrences(of: "table name", with: "column name"))
            }
            guard seen.insert(column.name).inserted else {
                throw CatalogError(sqlState: "42701", message: "column \"\(column.name)\" specified more than once")
            }
        }
        try validateKey(spec.primaryKey, of: "primary key", within: seen, spec)
        try validateKey(spec.shardKey, of: "shard key", within: Set(spec.primaryKey), spec)
        guard (1...UInt32(ShardID.shardCountMax)).contains(spec.shardCount) else {
            throw .invalidParameter("table \"\(spec.name)\": shard count \(spec.shardCount) is outside 1...\(ShardID.shardCountMax)")
        }
    }

    private static func validateKey(_ key: [String], of kind: String, within allowed: Set<String>, _ spec: CatalogTableSpec) throws(CatalogError) {
        guard !key.isEmpty else { throw .invalidDefinition("table \"\(spec.name)\" needs a \(kind)") }
        var seen: Set<String> = []
        for name in key {
            guard allowed.contains(name) else {
                let where_ = kind == "shard key" ? "the primary key" : "the columns"
                throw .invalidDefinition("\(kind) column \"\(name)\" of \"\(spec.name)\" is not among \(where_)")
            }
            guard seen.insert(name).inserted else {
                throw .invalidDefinition("\(kind) column \"\(name)\" of \"\(spec.name)\" appears twice")
            }
        }
    }

    static func validate(_ group: CatalogGroup, nodes: [UInt32: CatalogNode], _ limits: CatalogLimits) throws(CatalogError) {
        guard (1...limits.groupMembersMax).contains(group.members.count) else {
            throw .invalidParameter("group \(group.id) has \(group.members.count) members; it needs 1...\(limits.groupMembersMax) (group_members_max)")
        }
        guard zip(group.members, group.members.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .invalidParameter("group \(group.id): members must be listed in ascending order without repeats")
        }
        if let unknown = group.members.first(where: { nodes[$0] == nil }) {
            throw .undefinedObject("group \(group.id): node \(unknown) is not registered")
        }
    }

    private static func isPrintableWord(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
