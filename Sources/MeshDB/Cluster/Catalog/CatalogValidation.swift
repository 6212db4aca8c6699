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
        try validateRelationName(spec.name, "table", limits)
        guard !spec.columns.isEmpty else { throw .invalidDefinition("table \"\(spec.name)\" needs at least one column") }
        guard spec.columns.count <= limits.columnsMax else {
            throw CatalogError(sqlState: "54011", message: "table \"\(spec.name)\" has \(spec.columns.count) columns; columns_max = \(limits.columnsMax)")
        }
        var seen: Set<String> = []
        for column in spec.columns {
            try validate(column, of: spec.name, limits)
            guard seen.insert(column.name).inserted else {
                throw .duplicateColumn("column \"\(column.name)\" specified more than once")
            }
            if spec.hasHiddenRowID, rowIDAliases.contains(column.name) {
                throw .duplicateColumn("column name \"\(column.name)\" of \"\(spec.name)\" conflicts with the hidden row id (a table without a primary key or shard key)")
            }
        }
        try validateKey(spec.primaryKey, "primary key", of: spec, columns: seen, limits)
        try validateKey(spec.shardKey, "shard key", of: spec, columns: seen, limits)
        guard !spec.shardKey.isEmpty || spec.primaryKey.isEmpty else {
            throw .invalidDefinition("table \"\(spec.name)\" has a primary key but no shard key")
        }
        guard (1...UInt32(ShardID.shardCountMax)).contains(spec.shardCount) else {
            throw .invalidParameter("table \"\(spec.name)\": shard count \(spec.shardCount) is outside 1...\(ShardID.shardCountMax)")
        }
        guard spec.uniqueConstraints.count <= limits.uniqueConstraintsPerTableMax else {
            throw .limit("table \"\(spec.name)\" has \(spec.uniqueConstraints.count) UNIQUE constraints; unique_constraints_per_table_max = \(limits.uniqueConstraintsPerTableMax)")
        }
        if !spec.primaryKey.isEmpty {
            try checkEnforceable("PRIMARY KEY constraint \"\(spec.name)_pkey\"", columns: spec.primaryKey, in: spec)
        }
        for column in spec.columns where column.unique {
            try checkEnforceable("UNIQUE constraint \"\(spec.name)_\(column.name)_key\"", columns: [column.name], in: spec)
        }
        for constraint in spec.uniqueConstraints {
            let name = constraint.name.isEmpty ? "\(spec.name)_\(constraint.columns.joined(separator: "_"))_key" : constraint.name
            if !constraint.name.isEmpty { try validateName(constraint.name, "constraint", limits) }
            guard !constraint.columns.isEmpty else {
                throw .invalidDefinition("UNIQUE constraint \"\(name)\" of \"\(spec.name)\" names no columns")
            }
            try validateKey(constraint.columns, "UNIQUE constraint \"\(name)\"", of: spec, columns: seen, limits)
            try checkEnforceable("UNIQUE constraint \"\(name)\"", columns: constraint.columns, in: spec)
        }
        try checkShardDDL(spec, limits)
    }

    /// SQLite's names for a table's rowid: a column so named would hide the row id a table
    /// without a shard key is routed by.
    static let rowIDAliases: Set<String> = ["rowid", "oid", "_rowid_"]

    static func validate(_ column: CatalogColumn, of table: String, _ limits: CatalogLimits) throws(CatalogError) {
        try validateName(column.name, "column", limits)
        let declared = column.declaredType.utf8
        guard (1...limits.declaredTypeBytesMax).contains(declared.count), declared.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw .invalidParameter("column \"\(column.name)\" of \"\(table)\": declared type must be 1...\(limits.declaredTypeBytesMax) printable ASCII characters (declared_type_bytes_max)")
        }
    }

    static func validate(_ index: CatalogIndex, _ limits: CatalogLimits) throws(CatalogError) {
        try validateRelationName(index.name, "index", limits)
        guard !index.columns.isEmpty else { throw .invalidDefinition("index \"\(index.name)\" names no columns") }
        var seen: Set<String> = []
        for column in index.columns {
            try validateName(column, "column", limits)
            guard seen.insert(column).inserted else {
                throw .duplicateColumn("column \"\(column)\" appears twice in index \"\(index.name)\"")
            }
        }
        guard index.columns.count <= limits.keyColumnsMax else {
            throw CatalogError(sqlState: "54011", message: "index \"\(index.name)\" has \(index.columns.count) columns; key_columns_max = \(limits.keyColumnsMax)")
        }
        try checkIndexSQL(index, limits)
    }

    static func validate(_ view: CatalogView, _ limits: CatalogLimits) throws(CatalogError) {
        try validateRelationName(view.name, "view", limits)
        guard !view.sql.isEmpty, view.sql.utf8.count <= limits.sqlBytesMax else {
            throw .invalidDefinition("view \"\(view.name)\": its query must be 1...\(limits.sqlBytesMax) bytes (sql_bytes_max)")
        }
        guard view.columns.count <= limits.columnsMax else {
            throw CatalogError(sqlState: "54011", message: "view \"\(view.name)\" has \(view.columns.count) columns; columns_max = \(limits.columnsMax)")
        }
        var seen: Set<String> = []
        for column in view.columns {
            // Output names need not be identifiers ("?column?", "count"): any text of at most
            // nameBytesMax bytes, as PostgreSQL allows.
            guard (1...limits.nameBytesMax).contains(column.utf8.count), !column.utf8.contains(0) else {
                throw CatalogError(sqlState: "42622", message: "view \"\(view.name)\": column names must be 1...\(limits.nameBytesMax) bytes (name_bytes_max)")
            }
            guard seen.insert(column).inserted else {
                throw .duplicateColumn("column \"\(column)\" specified more than once in view \"\(view.name)\"")
            }
        }
    }

    /// A key's columns: named columns of the table, each once, at most `keyColumnsMax`.
    private static func validateKey(_ key: [String], _ kind: String, of spec: CatalogTableSpec, columns: Set<String>,
                                    _ limits: CatalogLimits) throws(CatalogError) {
        guard key.count <= limits.keyColumnsMax else {
            throw CatalogError(sqlState: "54011", message: "\(kind) of \"\(spec.name)\" has \(key.count) columns; key_columns_max = \(limits.keyColumnsMax)")
        }
        var seen: Set<String> = []
        for name in key {
            guard columns.contains(name) else {
                throw .invalidDefinition("\(kind) column \"\(name)\" of \"\(spec.name)\" is not among the columns")
            }
            guard seen.insert(name).inserted else {
                throw .invalidDefinition("\(kind) column \"\(name)\" of \"\(spec.name)\" appears twice")
            }
        }
    }

    /// A PRIMARY KEY, UNIQUE constraint or unique index is enforced by each shard on its own
    /// rows, so it holds across the table only when equal keys always land in the same shard:
    /// when its columns include the whole shard key, or the table has a single shard.
    static func checkEnforceable(_ constraint: String, columns: [String], in spec: CatalogTableSpec) throws(CatalogError) {
        guard spec.shardCount > 1 else { return }
        if spec.hasHiddenRowID {
            throw .invalidDefinition("\(constraint) of \"\(spec.name)\" cannot be enforced: the table's \(spec.shardCount) shards split rows by a hidden row id and each shard checks uniqueness only among its own rows; give the table a shard key within the constraint's columns, or one shard")
        }
        if let missing = spec.shardKey.first(where: { !columns.contains($0) }) {
            throw .invalidDefinition("\(constraint) of \"\(spec.name)\" lacks shard key column \"\(missing)\": each of its \(spec.shardCount) shards checks uniqueness only among its own rows, so the constraint must include the whole shard key (\(spec.shardKey.joined(separator: ", ")))")
        }
    }

    /// A table, view or index name: a valid name that is not one of the system tables'.
    private static func validateRelationName(_ name: String, _ kind: String, _ limits: CatalogLimits) throws(CatalogError) {
        try validateName(name, kind, limits)
        guard !name.hasPrefix("mesh_") else {
            throw CatalogError(sqlState: "42939", message: "\(kind) name \"\(name)\" is reserved: mesh_ names are system tables")
        }
    }

    /// Names are the lowercase ASCII identifiers a shard file name can hold (see `ShardID`), at
    /// most `nameBytesMax` bytes: PostgreSQL's NAMEDATALEN - 1.
    static func validateName(_ name: String, _ kind: String, _ limits: CatalogLimits) throws(CatalogError) {
        guard name.utf8.count <= limits.nameBytesMax else {
            throw CatalogError(sqlState: "42622", message: "\(kind) name \"\(name.prefix(limits.nameBytesMax))...\" is longer than name_bytes_max = \(limits.nameBytesMax) bytes")
        }
        do {
            try ShardID.validate(tableName: name)
        } catch {
            guard case .invalidTableName(_, let reason) = error else { preconditionFailure("a name check only finds a bad name") }
            throw .invalidName("invalid \(kind) name \"\(name)\": \(reason)")
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
