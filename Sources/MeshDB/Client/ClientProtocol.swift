import Consensus

/// The native client protocol, carried in data frames on a node's port after a client-role
/// handshake: `meshdb status` and the Swift `MeshClient` use it (the blob commands will stream
/// over it later). One request, one response, matched by id; several may be outstanding.
///
///     request   u32 id | u8 kind | body
///     response  u32 id | u8 status (0 ok, 1 error) | body   (error body: SQLSTATE text, message text)
public enum ClientRequest: Sendable, Hashable {
    /// A catalog DDL command (createTable or dropTable), as `CatalogCommand.encoded()`.
    case catalog(CatalogCommand)
    case insert(table: String, rows: [[SQLiteValue]])
    case get(table: String, key: [SQLiteValue], consistency: Gateway.ReadConsistency)
    case scan(table: String, consistency: Gateway.ReadConsistency)
    case systemTable(String)
    case status
    /// The state digest and last executed sequence number of this node's replica of a group
    /// (replicas that executed the same batches have equal digests).
    case digest(group: UInt32)

    enum Kind: UInt8 {
        case catalog = 1, insert = 2, get = 3, scan = 4, systemTable = 5, status = 6, digest = 7
    }

    public struct Limits: Sendable {
        public var rowsMax = 100_000
        public var columnsMax = 256
        public var textBytesMax = 1 << 20
        public var blobBytesMax = 16 << 20
        public init() {}
    }

    func encoded(id: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(id)
        switch self {
        case .catalog(let command):
            w.write(Kind.catalog.rawValue)
            w.writeBytes(command.encoded())
        case .insert(let table, let rows):
            w.write(Kind.insert.rawValue)
            w.writeText(table)
            w.write(UInt32(rows.count))
            for row in rows {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .get(let table, let key, let consistency):
            w.write(Kind.get.rawValue)
            w.writeText(table)
            w.writeText(consistency.rawValue)
            w.write(UInt32(key.count))
            for value in key { w.write(value) }
        case .scan(let table, let consistency):
            w.write(Kind.scan.rawValue)
            w.writeText(table)
            w.writeText(consistency.rawValue)
        case .systemTable(let name):
            w.write(Kind.systemTable.rawValue)
            w.writeText(name)
        case .status:
            w.write(Kind.status.rawValue)
        case .digest(let group):
            w.write(Kind.digest.rawValue)
            w.write(group)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> (id: UInt32, request: ClientRequest) {
        var r = ByteReader(bytes)
        let id = try r.readU32("request id")
        let tag = try r.readU8("request kind")
        guard let kind = Kind(rawValue: tag) else { throw .unknownTag(field: "request kind", tag: tag) }
        func values(_ field: String) throws(DecodeError) -> [SQLiteValue] {
            let count = try r.readCount(field, limit: limits.columnsMax, bytesEach: 1)
            var out: [SQLiteValue] = []
            for _ in 0..<count { out.append(try r.readValue(field, textBytesMax: limits.textBytesMax, blobBytesMax: limits.blobBytesMax)) }
            return out
        }
        func consistency() throws(DecodeError) -> Gateway.ReadConsistency {
            let name = try r.readText("consistency", bytesMax: 32)
            guard let value = Gateway.ReadConsistency(rawValue: name) else { throw .unknownTag(field: "consistency", tag: 0) }
            return value
        }
        let request: ClientRequest
        switch kind {
        case .catalog:
            request = .catalog(try CatalogCommand(decoding: try r.readBytes("catalog command", limit: 1 << 20)))
        case .insert:
            let table = try r.readText("table", bytesMax: 256)
            let count = try r.readCount("rows", limit: limits.rowsMax, bytesEach: 4)
            var rows: [[SQLiteValue]] = []
            for _ in 0..<count { rows.append(try values("row")) }
            request = .insert(table: table, rows: rows)
        case .get:
            let table = try r.readText("table", bytesMax: 256)
            let level = try consistency()
            request = .get(table: table, key: try values("key"), consistency: level)
        case .scan:
            let table = try r.readText("table", bytesMax: 256)
            request = .scan(table: table, consistency: try consistency())
        case .systemTable:
            request = .systemTable(try r.readText("system table", bytesMax: 256))
        case .status:
            request = .status
        case .digest:
            request = .digest(group: try r.readU32("group"))
        }
        try r.finish()
        return (id, request)
    }
}

/// What a node answers.
public enum ClientResponse: Sendable, Hashable {
    case done(String)
    case count(UInt64)
    case rows(Gateway.Rows)
    case row([SQLiteValue]?)
    case status(NodeStatus)
    case error(GatewayError)

    enum Kind: UInt8 {
        case done = 0, count = 1, rows = 2, row = 3, status = 4, error = 255
    }

    func encoded(id: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(id)
        switch self {
        case .done(let tag):
            w.write(Kind.done.rawValue)
            w.writeText(tag)
        case .count(let count):
            w.write(Kind.count.rawValue)
            w.write(count)
        case .rows(let rows):
            w.write(Kind.rows.rawValue)
            w.write(UInt32(rows.columns.count))
            for column in rows.columns { w.writeText(column) }
            w.write(UInt32(rows.rows.count))
            for row in rows.rows {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .row(let row):
            w.write(Kind.row.rawValue)
            w.write(row != nil)
            if let row {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .status(let status):
            w.write(Kind.status.rawValue)
            w.write(UInt32(status.node))
            w.write(UInt32(status.groups.count))
            for group in status.groups {
                w.write(group.group)
                w.write(UInt32(group.replicaIndex))
                w.write(group.view)
                w.write(UInt32(group.primaryNode))
                w.write(group.inViewChange)
                w.write(group.lastExecuted)
                w.write(group.stableCheckpoint)
            }
        case .error(let error):
            w.write(Kind.error.rawValue)
            w.writeText(error.sqlState)
            w.writeText(error.message)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> (id: UInt32, response: ClientResponse) {
        var r = ByteReader(bytes)
        let id = try r.readU32("response id")
        let tag = try r.readU8("response kind")
        guard let kind = Kind(rawValue: tag) else { throw .unknownTag(field: "response kind", tag: tag) }
        func row() throws(DecodeError) -> [SQLiteValue] {
            let count = try r.readCount("row", limit: 4096, bytesEach: 1)
            var out: [SQLiteValue] = []
            for _ in 0..<count { out.append(try r.readValue("value", textBytesMax: 1 << 30, blobBytesMax: 1 << 30)) }
            return out
        }
        let response: ClientResponse
        switch kind {
        case .done: response = .done(try r.readText("tag", bytesMax: 256))
        case .count: response = .count(try r.readU64("count"))
        case .rows:
            let columnCount = try r.readCount("columns", limit: 4096, bytesEach: 4)
            var columns: [String] = []
            for _ in 0..<columnCount { columns.append(try r.readText("column", bytesMax: 1024)) }
            let rowCount = try r.readCount("rows", limit: 100_000_000, bytesEach: 4)
            var rows: [[SQLiteValue]] = []
            for _ in 0..<rowCount { rows.append(try row()) }
            response = .rows(Gateway.Rows(columns: columns, rows: rows))
        case .row:
            response = .row(try r.readBool("present") ? try row() : nil)
        case .status:
            let node = Int(try r.readU32("node"))
            let count = try r.readCount("groups", limit: 1024, bytesEach: 8)
            var groups: [NodeRuntime.GroupStatus] = []
            for _ in 0..<count {
                groups.append(NodeRuntime.GroupStatus(
                    group: try r.readU32("group"), replicaIndex: Int(try r.readU32("replica")), view: try r.readU64("view"),
                    primaryNode: Int(try r.readU32("primary")), inViewChange: try r.readBool("in view change"),
                    lastExecuted: try r.readU64("last executed"), stableCheckpoint: try r.readU64("stable checkpoint")))
            }
            response = .status(NodeStatus(node: node, groups: groups))
        case .error:
            response = .error(GatewayError(sqlState: try r.readText("sqlstate", bytesMax: 5), message: try r.readText("message", bytesMax: 1 << 16)))
        }
        try r.finish()
        return (id, response)
    }
}

/// One node's view of its PBFT groups, for `meshdb status`.
public struct NodeStatus: Sendable, Hashable {
    public let node: Int
    public let groups: [NodeRuntime.GroupStatus]
}
