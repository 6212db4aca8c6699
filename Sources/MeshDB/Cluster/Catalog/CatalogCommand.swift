public import Consensus

/// One change to the catalog, carried as `Request.operation` and ordered by the metadata group's
/// PBFT instance. Decoding checks every count and size against `CatalogLimits` before
/// allocating; semantic checks (names, references, state) happen when the command executes.
public enum CatalogCommand: Sendable, Hashable {
    /// Adds a node, or updates the address and zone of a node registered with the same key.
    case registerNode(CatalogNode)
    /// Marks a node up or down (`meshdb node down/up`): blob placement and repair use the up nodes.
    case setNodeState(index: UInt32, state: CatalogNode.State)
    case createTable(CatalogTableSpec, ifNotExists: Bool)
    /// Drops the table and its indexes.
    case dropTable(name: String, ifExists: Bool)
    /// Adds or updates groups; a changed membership needs a higher epoch.
    case defineGroups([CatalogGroup])
    /// Hands out `count` fresh row ids of a table with a hidden row id; the result is the first
    /// (`CatalogResult.rowIDs`). PBFT orders the command, so every replica hands out the same
    /// block and no two gateways ever get overlapping ones.
    case allocateRowIDs(table: String, count: UInt32)
    case createIndex(CatalogIndex, ifNotExists: Bool)
    case dropIndex(name: String, ifExists: Bool)
    case createView(CatalogView, ifNotExists: Bool)
    case dropView(name: String, ifExists: Bool)
    /// Appends `column` to the table; `shardDDL` is the ALTER TABLE ... ADD COLUMN the gateway
    /// then runs on every shard, checked here so that a statement the shards would refuse never
    /// changes the catalog.
    case addColumn(table: String, column: CatalogColumn, shardDDL: String)
    /// Removes a column that no key, constraint or index uses: the gateway's way back when the
    /// shards refused an ADD COLUMN the catalog had accepted.
    case dropColumn(table: String, column: String)
    /// Gives a table a new primary key and shard key (ALTER TABLE ... ADD PRIMARY KEY): `spec`
    /// replaces the table's spec, and may differ from it only in `primaryKey`, `shardKey`, the
    /// key columns' NOT NULL and `shardDDL`. The gateway has rewritten the shards in a transaction
    /// block before it orders this, and orders the old spec again when that block fails to commit.
    case rekeyTable(CatalogTableSpec)
    /// Adds a user (42710 if the name is taken).
    case createUser(CatalogUser)
    /// Replaces an existing user's verifier (42704 if there is none).
    case alterUser(CatalogUser)
    case dropUser(name: String, ifExists: Bool)
    /// Names a blob whose chunks are durable (42710 if the name is taken).
    case putBlob(CatalogBlob)
    /// Forgets a blob's name; its chunks stay until garbage collection finds them unreferenced.
    case dropBlob(name: String, ifExists: Bool)

    private enum Tag: UInt8 {
        case registerNode = 1, setNodeState = 2, createTable = 3, dropTable = 4, defineGroups = 5
        case allocateRowIDs = 6, createIndex = 7, dropIndex = 8, createView = 9, dropView = 10
        case addColumn = 11, dropColumn = 12, createUser = 13, alterUser = 14, dropUser = 15
        case rekeyTable = 16, putBlob = 17, dropBlob = 18
    }

    /// 2: table specs with declared types, unique constraints and shard DDL; indexes, views,
    /// columns and row ids.
    static let formatVersion: UInt8 = 2

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
            w.writeNamedFlag(Tag.dropTable.rawValue, name, ifExists)
        case .defineGroups(let groups):
            w.write(Tag.defineGroups.rawValue)
            w.write(UInt32(groups.count))
            for group in groups { w.write(group) }
        case .allocateRowIDs(let table, let count):
            w.write(Tag.allocateRowIDs.rawValue)
            w.writeText(table)
            w.write(count)
        case .createIndex(let index, let ifNotExists):
            w.write(Tag.createIndex.rawValue)
            w.write(index)
            w.write(ifNotExists)
        case .dropIndex(let name, let ifExists):
            w.writeNamedFlag(Tag.dropIndex.rawValue, name, ifExists)
        case .createView(let view, let ifNotExists):
            w.write(Tag.createView.rawValue)
            w.write(view)
            w.write(ifNotExists)
        case .dropView(let name, let ifExists):
            w.writeNamedFlag(Tag.dropView.rawValue, name, ifExists)
        case .addColumn(let table, let column, let shardDDL):
            w.write(Tag.addColumn.rawValue)
            w.writeText(table)
            w.write(column)
            w.writeText(shardDDL)
        case .dropColumn(let table, let column):
            w.write(Tag.dropColumn.rawValue)
            w.writeText(table)
            w.writeText(column)
        case .rekeyTable(let spec):
            w.write(Tag.rekeyTable.rawValue)
            w.write(spec)
        case .createUser(let user):
            w.write(Tag.createUser.rawValue)
            w.write(user)
        case .alterUser(let user):
            w.write(Tag.alterUser.rawValue)
            w.write(user)
        case .dropUser(let name, let ifExists):
            w.writeNamedFlag(Tag.dropUser.rawValue, name, ifExists)
        case .putBlob(let blob):
            w.write(Tag.putBlob.rawValue)
            w.write(blob)
        case .dropBlob(let name, let ifExists):
            w.writeNamedFlag(Tag.dropBlob.rawValue, name, ifExists)
        }
        return w.bytes
    }

    /// Decodes untrusted bytes; never traps.
    public init(decoding bytes: [UInt8], limits: CatalogLimits = CatalogLimits()) throws(DecodeError) {
        guard bytes.count <= limits.commandBytesMax else {
            throw .limitExceeded(field: "command bytes (command_bytes_max)", count: bytes.count, limit: limits.commandBytesMax)
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
        case .allocateRowIDs:
            let table = try r.readText("table name", bytesMax: limits.nameBytesMax)
            self = .allocateRowIDs(table: table, count: try r.readU32("row id count"))
        case .createIndex:
            let index = try r.readIndex(limits)
            self = .createIndex(index, ifNotExists: try r.readBool("if not exists"))
        case .dropIndex:
            let name = try r.readText("index name", bytesMax: limits.nameBytesMax)
            self = .dropIndex(name: name, ifExists: try r.readBool("if exists"))
        case .createView:
            let view = try r.readView(limits)
            self = .createView(view, ifNotExists: try r.readBool("if not exists"))
        case .dropView:
            let name = try r.readText("view name", bytesMax: limits.nameBytesMax)
            self = .dropView(name: name, ifExists: try r.readBool("if exists"))
        case .addColumn:
            let table = try r.readText("table name", bytesMax: limits.nameBytesMax)
            let column = try r.readColumn(limits)
            self = .addColumn(table: table, column: column, shardDDL: try r.readText("shard DDL", bytesMax: limits.sqlBytesMax))
        case .dropColumn:
            let table = try r.readText("table name", bytesMax: limits.nameBytesMax)
            self = .dropColumn(table: table, column: try r.readText("column name", bytesMax: limits.nameBytesMax))
        case .rekeyTable:
            self = .rekeyTable(try r.readTableSpec(limits))
        case .createUser:
            self = .createUser(try r.readUser(limits))
        case .alterUser:
            self = .alterUser(try r.readUser(limits))
        case .dropUser:
            let name = try r.readText("user name", bytesMax: limits.nameBytesMax)
            self = .dropUser(name: name, ifExists: try r.readBool("if exists"))
        case .putBlob:
            self = .putBlob(try r.readBlob(limits))
        case .dropBlob:
            let name = try r.readText("blob name", bytesMax: limits.blobNameBytesMax)
            self = .dropBlob(name: name, ifExists: try r.readBool("if exists"))
        }
        try r.finish()
    }
}

/// Every limit of the catalog, named as errors name them.
public struct CatalogLimits: Sendable, Hashable {
    /// Largest encoded command. Within Consensus's default `operationBytesMax` (128 KiB).
    public var commandBytesMax = 64 * 1024
    public var nodesMax = 1_024
    public var tablesMax = 1_024
    public var viewsMax = 1_024
    public var indexesMax = 4_096
    /// Columns of one table (PostgreSQL's MaxHeapAttributeNumber). A table that wide fits a
    /// command only with short names and types: `commandBytesMax` bounds the encoded spec.
    public var columnsMax = 1_600
    /// Columns of one key, UNIQUE constraint or index (PostgreSQL's INDEX_MAX_KEYS).
    public var keyColumnsMax = 32
    public var uniqueConstraintsPerTableMax = 64
    /// Statements of a table's shard DDL.
    public var shardDDLStatementsMax = 64
    /// Longest SQL text stored: a shard DDL statement, an index's statement or a view's query.
    public var sqlBytesMax = 64 * 1024
    /// Longest declared type ("character varying(20)").
    public var declaredTypeBytesMax = 63
    /// Most row ids one `allocateRowIDs` hands out.
    public var rowIDsPerAllocationMax: UInt32 = 1 << 20
    public var groupsMax = 256
    public var groupMembersMax = 64
    /// Longest table, view, index, constraint or column name (PostgreSQL's NAMEDATALEN - 1).
    public var nameBytesMax = ShardID.tableNameBytesMax
    /// Longest host name (DNS's limit).
    public var hostBytesMax = 253
    public var zoneBytesMax = 63
    public var usersMax = 1_024
    /// Most PBKDF2 iterations a SCRAM verifier may ask of a login (each costs the server one
    /// HMAC per iteration per authentication).
    public var scramIterationsMax: UInt32 = 1 << 20
    public var scramSaltBytesMax = 64
    /// Named blobs. Each entry holds its manifest (up to ~60 KB), all of it in every meta node's
    /// memory and checkpoints: the bound keeps that at most a few hundred MB.
    public var blobsMax = 10_000
    /// Longest blob name, in UTF-8 bytes (a file name's usual limit).
    public var blobNameBytesMax = 255

    public init() {}
}

extension ByteWriter {
    fileprivate mutating func writeNamedFlag(_ tag: UInt8, _ name: String, _ flag: Bool) {
        write(tag)
        writeText(name)
        write(flag)
    }
}
