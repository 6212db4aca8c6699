import Consensus

/// The record encodings, shared by commands and snapshots. Each record has exactly one encoding
/// (flags with unknown bits, or a declared type spelled out where it equals the default, are
/// refused), so that a decoded snapshot re-encodes to the same bytes and digest.
extension ByteWriter {
    mutating func write(_ node: CatalogNode) {
        write(node.index)
        writeText(node.publicKeyHex)
        writeText(node.host)
        write(UInt32(node.port))
        write(UInt32(node.pgPort))
        writeText(node.zone)
        write(node.state.rawValue)
    }

    mutating func write(_ column: CatalogColumn) {
        writeText(column.name)
        write(column.type.rawValue)
        let spelledOut = column.declaredType != column.type.name
        var flags = ColumnFlags()
        if column.notNull { flags.insert(.notNull) }
        if column.unique { flags.insert(.unique) }
        if column.hasDefault { flags.insert(.hasDefault) }
        if spelledOut { flags.insert(.declaredType) }
        write(flags.rawValue)
        if spelledOut { writeText(column.declaredType) }
    }

    mutating func write(_ spec: CatalogTableSpec) {
        writeText(spec.name)
        write(UInt32(spec.columns.count))
        for column in spec.columns { write(column) }
        writeNames(spec.primaryKey)
        writeNames(spec.shardKey)
        write(spec.shardCount)
        write(UInt32(spec.uniqueConstraints.count))
        for constraint in spec.uniqueConstraints {
            writeText(constraint.name)
            writeNames(constraint.columns)
        }
        write(UInt32(spec.shardDDL.count))
        for sql in spec.shardDDL { writeText(sql) }
    }

    mutating func write(_ index: CatalogIndex) {
        writeText(index.name)
        writeText(index.table)
        writeNames(index.columns)
        write(index.unique)
        writeText(index.sql)
    }

    mutating func write(_ view: CatalogView) {
        writeText(view.name)
        writeText(view.sql)
        writeNames(view.columns)
    }

    mutating func write(_ group: CatalogGroup) {
        write(group.id)
        write(UInt32(group.members.count))
        for member in group.members { write(member) }
        write(group.epoch)
    }

    private mutating func writeNames(_ names: [String]) {
        write(UInt32(names.count))
        for name in names { writeText(name) }
    }
}

/// The boolean attributes of a column, one byte on the wire.
struct ColumnFlags: OptionSet {
    let rawValue: UInt8
    static let notNull = ColumnFlags(rawValue: 1)
    static let unique = ColumnFlags(rawValue: 2)
    static let hasDefault = ColumnFlags(rawValue: 4)
    /// A declared type other than the type's name follows.
    static let declaredType = ColumnFlags(rawValue: 8)
    static let all: ColumnFlags = [.notNull, .unique, .hasDefault, .declaredType]
}

extension ByteReader {
    mutating func readNodeState() throws(DecodeError) -> CatalogNode.State {
        let raw = try readU8("node state")
        guard let state = CatalogNode.State(rawValue: raw) else { throw .unknownTag(field: "node state", tag: raw) }
        return state
    }

    mutating func readPort(_ field: String) throws(DecodeError) -> UInt16 {
        let port = try readU32(field)
        guard let value = UInt16(exactly: port) else {
            throw .invalidValue(field: field, reason: "\(port) is not a TCP port")
        }
        return value
    }

    mutating func readNode(_ limits: CatalogLimits) throws(DecodeError) -> CatalogNode {
        let index = try readU32("node index")
        let key = try readText("public key", bytesMax: 64)
        let host = try readText("host", bytesMax: limits.hostBytesMax)
        let port = try readPort("port")
        let pgPort = try readPort("pg port")
        let zone = try readText("zone", bytesMax: limits.zoneBytesMax)
        return CatalogNode(index: index, publicKeyHex: key, host: host, port: port, pgPort: pgPort, zone: zone,
                           state: try readNodeState())
    }

    mutating func readColumn(_ limits: CatalogLimits) throws(DecodeError) -> CatalogColumn {
        let name = try readText("column name", bytesMax: limits.nameBytesMax)
        let rawType = try readU8("column type")
        guard let type = CatalogColumnType(rawValue: rawType) else { throw .unknownTag(field: "column type", tag: rawType) }
        let flags = ColumnFlags(rawValue: try readU8("column flags"))
        guard ColumnFlags.all.isSuperset(of: flags) else {
            throw .invalidValue(field: "column flags", reason: "unknown bits in \(flags.rawValue)")
        }
        var declaredType: String?
        if flags.contains(.declaredType) {
            let spelled = try readText("declared type", bytesMax: limits.declaredTypeBytesMax)
            guard spelled != type.name else {
                throw .invalidValue(field: "declared type", reason: "\"\(spelled)\" is the default and is not spelled out")
            }
            declaredType = spelled
        }
        return CatalogColumn(name: name, type: type, notNull: flags.contains(.notNull), declaredType: declaredType,
                             unique: flags.contains(.unique), hasDefault: flags.contains(.hasDefault))
    }

    mutating func readTableSpec(_ limits: CatalogLimits) throws(DecodeError) -> CatalogTableSpec {
        let name = try readText("table name", bytesMax: limits.nameBytesMax)
        let columnCount = try readCount("column count (columns_max)", limit: limits.columnsMax, bytesEach: 6)
        var columns: [CatalogColumn] = []
        for _ in 0..<columnCount { columns.append(try readColumn(limits)) }
        let primaryKey = try readNames("primary key column", limits)
        let shardKey = try readNames("shard key column", limits)
        let shardCount = try readU32("shard count")
        let constraintCount = try readCount("unique constraint count (unique_constraints_per_table_max)",
                                            limit: limits.uniqueConstraintsPerTableMax, bytesEach: 8)
        var constraints: [CatalogUniqueConstraint] = []
        for _ in 0..<constraintCount {
            let constraintName = try readText("constraint name", bytesMax: limits.nameBytesMax)
            constraints.append(CatalogUniqueConstraint(name: constraintName, columns: try readNames("unique column", limits)))
        }
        let ddlCount = try readCount("shard DDL statement count (shard_ddl_statements_max)",
                                     limit: limits.shardDDLStatementsMax, bytesEach: 4)
        var shardDDL: [String] = []
        for _ in 0..<ddlCount { shardDDL.append(try readText("shard DDL", bytesMax: limits.sqlBytesMax)) }
        return CatalogTableSpec(name: name, columns: columns, primaryKey: primaryKey, shardKey: shardKey, shardCount: shardCount,
                                uniqueConstraints: constraints, shardDDL: shardDDL)
    }

    mutating func readIndex(_ limits: CatalogLimits) throws(DecodeError) -> CatalogIndex {
        let name = try readText("index name", bytesMax: limits.nameBytesMax)
        let table = try readText("table name", bytesMax: limits.nameBytesMax)
        let columns = try readNames("index column", limits)
        let unique = try readBool("unique")
        return CatalogIndex(name: name, table: table, columns: columns, unique: unique,
                            sql: try readText("index SQL", bytesMax: limits.sqlBytesMax))
    }

    mutating func readView(_ limits: CatalogLimits) throws(DecodeError) -> CatalogView {
        let name = try readText("view name", bytesMax: limits.nameBytesMax)
        let sql = try readText("view SQL", bytesMax: limits.sqlBytesMax)
        let count = try readCount("view column count (columns_max)", limit: limits.columnsMax, bytesEach: 4)
        var columns: [String] = []
        for _ in 0..<count { columns.append(try readText("view column", bytesMax: limits.nameBytesMax)) }
        return CatalogView(name: name, sql: sql, columns: columns)
    }

    /// A key's or an index's column names, at most `keyColumnsMax`.
    private mutating func readNames(_ field: String, _ limits: CatalogLimits) throws(DecodeError) -> [String] {
        let count = try readCount(field + " count (key_columns_max)", limit: limits.keyColumnsMax, bytesEach: 4)
        var names: [String] = []
        for _ in 0..<count { names.append(try readText(field, bytesMax: limits.nameBytesMax)) }
        return names
    }

    mutating func readGroup(_ limits: CatalogLimits) throws(DecodeError) -> CatalogGroup {
        let id = try readU32("group id")
        let count = try readCount("group member count", limit: limits.groupMembersMax, bytesEach: 4)
        var members: [UInt32] = []
        for _ in 0..<count { members.append(try readU32("group member")) }
        return CatalogGroup(id: id, members: members, epoch: try readU64("group epoch"))
    }
}
