public import Consensus

/// One change to the catalog, carried as `Request.operation` and ordered by the metadata group's
/// PBFT instance. Decoding checks every count and size against `CatalogLimits` before
/// allocating; semantic checks (names, references, state) happen when the command executes.
public enum CatalogCommand: Sendable, Hashable {
    /// Adds a node, or updates the address and zone of a node registered with the same key.
    case registerNode(CatalogNode)
    case setNodeState(index: UInt32, state: CatalogNode.State)
    case createTable(CatalogTableSpec, ifNotExists: Bool)
    case dropTable(name: String, ifExists: Bool)
    /// Adds or updates groups; a changed membership needs a higher epoch.
    case defineGroups([CatalogGroup])

    private enum Tag: UInt8 {
        case registerNode = 1, setNodeState = 2, createTable = 3, dropTable = 4, defineGroups = 5
    }

    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.write(Self.formatVersion)
        switch self {
        case .registerNode(let node):
            w.write(Tag.registerNode.rawValue)
            w.write(node)
        case .setNodeState(let index, let state):
            w.write(Tag.setNodeState.rawValue)
            w.write(index)
            w.write(state.rawValue)
        case .createTable(let spec, let ifNotExists):
            w.write(Tag.createTable.rawValue)
            w.write(spec)
            w.write(ifNotExists)
        case .dropTable(let name, let ifExists):
            w.write(Tag.dropTable.rawValue)
            w.writeText(name)
            w.write(ifExists)
        case .defineGroups(let groups):
            w.write(Tag.defineGroups.rawValue)
            w.write(UInt32(groups.count))
            for group in groups { w.write(group) }
        }
        return w.bytes
    }

    /// Decodes untrusted bytes; never traps.
    public init(decoding bytes: [UInt8], limits: CatalogLimits = CatalogLimits()) throws(DecodeError) {
        guard bytes.count <= limits.commandBytesMax else {
            throw .limitExceeded(field: "command bytes", count: bytes.count, limit: limits.commandBytesMax)
        }
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "command format version")
        let rawTag = try r.readU8("command")
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(field: "command", tag: rawTag) }
        switch tag {
        case .registerNode:
            self = .registerNode(try r.readNode(limits))
        case .setNodeState:
            let index = try r.readU32("node index")
            self = .setNodeState(index: index, state: try r.readNodeState())
        case .createTable:
            let spec = try r.readTableSpec(limits)
            self = .createTable(spec, ifNotExists: try r.readBool("if not exists"))
        case .dropTable:
            let name = try r.readText("table name", bytesMax: limits.nameBytesMax)
            self = .dropTable(name: name, ifExists: try r.readBool("if exists"))
        case .defineGroups:
            let count = try r.readCount("group count", limit: limits.groupsMax, bytesEach: 16)
            var groups: [CatalogGroup] = []
            for _ in 0..<count { groups.append(try r.readGroup(limits)) }
            self = .defineGroups(groups)
        }
        try r.finish()
    }
}

/// Every limit of the catalog, named as errors name them.
public struct CatalogLimits: Sendable, Hashable {
    /// Largest encoded command. Matches Consensus's default `operationBytesMax`.
    public var commandBytesMax = 64 * 1024
    public var nodesMax = 1_024
    public var tablesMax = 1_024
    public var columnsMax = 256
    public var groupsMax = 256
    public var groupMembersMax = 64
    /// Longest table or column name (PostgreSQL's NAMEDATALEN - 1).
    public var nameBytesMax = ShardID.tableNameBytesMax
    /// Longest host name (DNS's limit).
    public var hostBytesMax = 253
    public var zoneBytesMax = 63

    public init() {}
}

// The record encodings, shared by commands and snapshots.

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

    mutating func write(_ spec: CatalogTableSpec) {
        writeText(spec.name)
        write(UInt32(spec.columns.count))
        for column in spec.columns {
            writeText(column.name)
            write(column.type.rawValue)
            write(column.notNull)
        }
        write(UInt32(spec.primaryKey.count))
        for name in spec.primaryKey { writeText(name) }
        write(UInt32(spec.shardKey.count))
        for name in spec.shardKey { writeText(name) }
        write(spec.shardCount)
    }

    mutating func write(_ group: CatalogGroup) {
        write(group.id)
        write(UInt32(group.members.count))
        for member in group.members { write(member) }
        write(group.epoch)
    }
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

    mutating func readTableSpec(_ limits: CatalogLimits) throws(DecodeError) -> CatalogTableSpec {
        let name = try readText("table name", bytesMax: limits.nameBytesMax)
        let columnCount = try readCount("column count", limit: limits.columnsMax, bytesEach: 6)
        var columns: [CatalogColumn] = []
        for _ in 0..<columnCount {
            let columnName = try readText("column name", bytesMax: limits.nameBytesMax)
            let rawType = try readU8("column type")
            guard let type = CatalogColumnType(rawValue: rawType) else { throw .unknownTag(field: "column type", tag: rawType) }
            columns.append(CatalogColumn(name: columnName, type: type, notNull: try readBool("not null")))
        }
        let primaryKey = try readNames("primary key column", limits)
        let shardKey = try readNames("shard key column", limits)
        return CatalogTableSpec(name: name, columns: columns, primaryKey: primaryKey, shardKey: shardKey,
                                shardCount: try readU32("shard count"))
    }

    private mutating func readNames(_ field: String, _ limits: CatalogLimits) throws(DecodeError) -> [String] {
        let count = try readCount(field + " count", limit: limits.columnsMax, bytesEach: 4)
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
