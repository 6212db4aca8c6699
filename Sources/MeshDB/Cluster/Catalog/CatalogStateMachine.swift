public import Consensus
import Replication

/// The metadata group's replicated state (DESIGN.md, "Metadata group"): nodes, tables with
/// their indexes, views, the shard → group map and groups. A pure value: no clock, no disk, no
/// randomness; a command's result and the next state depend only on the state and the command,
/// so every correct replica agrees. Records are kept in dictionaries for lookup and always read out in key
/// order (never in a dictionary's order, which differs per process).
public struct CatalogStateMachine: ReplicatedStateMachine, Sendable {
    public let limits: CatalogLimits
    var nodes: [UInt32: CatalogNode] = [:]
    var tables: [String: CatalogTable] = [:]
    var groups: [UInt32: CatalogGroup] = [:]
    var indexes: [String: CatalogIndex] = [:]
    var views: [String: CatalogView] = [:]
    var users: [String: CatalogUser] = [:]
    /// Named blobs (`meshdb blob`), system table `mesh_blobs`.
    var blobs: [String: CatalogBlob] = [:]
    /// The id the next created table gets; ids are never reused.
    var nextObjectID = Self.firstObjectID
    /// How many requests this catalog has executed, refused ones included: a replica whose
    /// version is at least a reply's has executed that reply's request (`CatalogReply`).
    public internal(set) var version: UInt64 = 0

    /// PostgreSQL's FirstNormalObjectId: user objects' oids start here, below are the system's.
    public static let firstObjectID: UInt64 = 16_384

    public init(limits: CatalogLimits = CatalogLimits()) {
        self.limits = limits
    }

    /// Nodes by index.
    public var sortedNodes: [CatalogNode] { nodes.keys.sorted().map { nodes[$0]! } }
    /// Tables by name.
    public var sortedTables: [CatalogTable] { tables.keys.sorted(by: Self.nameOrder).map { tables[$0]! } }
    /// Groups by id.
    public var sortedGroups: [CatalogGroup] { groups.keys.sorted().map { groups[$0]! } }
    /// Indexes by name.
    public var sortedIndexes: [CatalogIndex] { indexes.keys.sorted(by: Self.nameOrder).map { indexes[$0]! } }
    /// Views by name.
    public var sortedViews: [CatalogView] { views.keys.sorted(by: Self.nameOrder).map { views[$0]! } }

    public func node(index: UInt32) -> CatalogNode? { nodes[index] }
    public func table(named name: String) -> CatalogTable? { tables[name] }
    public func group(id: UInt32) -> CatalogGroup? { groups[id] }
    public func index(named name: String) -> CatalogIndex? { indexes[name] }
    public func view(named name: String) -> CatalogView? { views[name] }
    public func user(named name: String) -> CatalogUser? { users[name] }
    /// Users by name.
    public var sortedUsers: [CatalogUser] { users.keys.sorted(by: Self.nameOrder).map { users[$0]! } }
    /// The indexes of table `name`, by index name.
    public func indexes(on table: String) -> [CatalogIndex] { sortedIndexes.filter { $0.table == table } }

    /// What a name stands for. Tables, views and indexes share one namespace, as relations do in
    /// a PostgreSQL schema.
    public enum RelationKind: Sendable, Hashable {
        case table, view, index

        /// As PostgreSQL's messages name it.
        public var name: String {
            switch self {
            case .table: "table"
            case .view: "view"
            case .index: "index"
            }
        }
    }

    public func relationKind(named name: String) -> RelationKind? {
        if tables[name] != nil { return .table }
        if views[name] != nil { return .view }
        if indexes[name] != nil { return .index }
        return nil
    }

    /// Plain byte order, the same on every platform and locale (names are ASCII).
    static func nameOrder(_ lhs: String, _ rhs: String) -> Bool {
        Array(lhs.utf8).lexicographicallyPrecedes(Array(rhs.utf8))
    }

    public mutating func execute(sequence: UInt64, requests: [Request]) -> [[UInt8]] {
        requests.map { request in
            let result = execute(command: request.operation, sequence: sequence)
            version += 1
            return CatalogReply(result: result, version: version).encoded()
        }
    }

    /// Decodes and applies one command; malformed bytes give an 08P01 result on every replica.
    public mutating func execute(command bytes: [UInt8], sequence: UInt64) -> CatalogResult {
        let command: CatalogCommand
        do {
            command = try CatalogCommand(decoding: bytes, limits: limits)
        } catch {
            if case .limitExceeded = error { return .error(.limit("malformed catalog command: \(error)")) }
            return .error(.protocolViolation("malformed catalog command: \(error)"))
        }
        return apply(command, sequence: sequence)
    }

    /// Applies one command: all of it, or nothing and an error result.
    public mutating func apply(_ command: CatalogCommand, sequence: UInt64) -> CatalogResult {
        do {
            switch command {
            case .registerNode(let node): return .ok(try registerNode(node))
            case .setNodeState(let index, let state): return .ok(try setNodeState(index, state))
            case .createTable(let spec, let ifNotExists): return try createTable(spec, ifNotExists: ifNotExists, sequence: sequence)
            case .dropTable(let name, let ifExists): return try dropTable(name, ifExists: ifExists)
            case .defineGroups(let definitions): return .ok(try defineGroups(definitions))
            case .allocateRowIDs(let table, let count): return try allocateRowIDs(table, count: count)
            case .createIndex(let index, let ifNotExists): return try createIndex(index, ifNotExists: ifNotExists)
            case .dropIndex(let name, let ifExists): return try dropIndex(name, ifExists: ifExists)
            case .createView(let view, let ifNotExists): return try createView(view, ifNotExists: ifNotExists)
            case .dropView(let name, let ifExists): return try dropView(name, ifExists: ifExists)
            case .addColumn(let table, let column, let shardDDL): return .ok(try addColumn(column, to: table, shardDDL: shardDDL))
            case .dropColumn(let table, let column): return .ok(try dropColumn(column, from: table))
            case .rekeyTable(let spec): return .ok(try rekeyTable(spec))
            case .createUser(let user): return .ok(try createUser(user))
            case .alterUser(let user): return .ok(try alterUser(user))
            case .dropUser(let name, let ifExists): return try dropUser(name, ifExists: ifExists)
            case .putBlob(let blob): return .ok(try putBlob(blob))
            case .dropBlob(let name, let ifExists): return try dropBlob(name, ifExists: ifExists)
            }
        } catch {
            return .error(error)
        }
    }

    private mutating func registerNode(_ node: CatalogNode) throws(CatalogError) -> String {
        try Self.validate(node, limits)
        if let holder = nodes.values.first(where: { $0.publicKeyHex == node.publicKeyHex }), holder.index != node.index {
            throw .duplicateObject("public key \(node.publicKeyHex) is already registered as node \(holder.index)")
        }
        if let existing = nodes[node.index] {
            guard existing.publicKeyHex == node.publicKeyHex else {
                throw .duplicateObject("node \(node.index) is registered with another public key")
            }
            var updated = node
            updated.state = existing.state
            nodes[node.index] = updated
            return "UPDATE NODE"
        }
        guard nodes.count < limits.nodesMax else {
            throw .limit("cannot register node \(node.index): nodes_max = \(limits.nodesMax) reached")
        }
        nodes[node.index] = node
        return "REGISTER NODE"
    }

    /// up_nodes_min: the fewest nodes `meshdb node down` may leave up, whoever asks (any native
    /// client may): R (blob_replicas), so repair can still place every chunk's copies, and at
    /// least 2f + 1 of the registered nodes, so blob writes still find W = f + 1 holders while f
    /// of the up nodes fail.
    static func upNodesMin(registered: Int) -> Int {
        max(ChunkPlacement.defaultReplicas, 2 * GroupConfiguration.faultsTolerated(among: registered) + 1)
    }

    private mutating func setNodeState(_ index: UInt32, _ state: CatalogNode.State) throws(CatalogError) -> String {
        guard let node = nodes[index] else { throw .undefinedObject("node \(index) is not registered") }
        if state == .down, node.state == .up {
            let upAfter = nodes.values.filter { $0.state == .up }.count - 1
            let floor = Self.upNodesMin(registered: nodes.count)
            guard upAfter >= floor else {
                throw .prerequisite("cannot mark node \(index) down: \(upAfter) nodes would stay up, below up_nodes_min = \(floor) (R copies of each chunk, and 2f + 1 of the \(nodes.count) nodes)")
            }
        }
        nodes[index]!.state = state
        return "SET NODE STATE"
    }

    private mutating func createTable(_ spec: CatalogTableSpec, ifNotExists: Bool, sequence: UInt64) throws(CatalogError) -> CatalogResult {
        try Self.validate(spec, limits)
        if let skipped = try refuseTaken(spec.name, "CREATE TABLE", ifNotExists: ifNotExists) { return skipped }
        guard tables.count < limits.tablesMax else {
            throw .limit("cannot create table \"\(spec.name)\": tables_max = \(limits.tablesMax) reached")
        }
        let groupIDs = groups.keys.sorted()
        guard !groupIDs.isEmpty else {
            throw .prerequisite("cannot create table \"\(spec.name)\": no shard groups are defined")
        }
        // Shard s goes to the s-th group round robin, in id order: deterministic, and spreads
        // the shards of one table over all groups.
        let shardGroups = (0..<Int(spec.shardCount)).map { groupIDs[$0 % groupIDs.count] }
        tables[spec.name] = CatalogTable(spec: spec, id: nextObjectID, createdAtSequence: sequence, shardGroups: shardGroups,
                                         nextRowID: 1)
        nextObjectID += 1
        return .ok("CREATE TABLE")
    }

    /// Drops the table and its indexes.
    private mutating func dropTable(_ name: String, ifExists: Bool) throws(CatalogError) -> CatalogResult {
        if let skipped = try refuseMissing(name, .table, "DROP TABLE", ifExists: ifExists) { return skipped }
        tables[name] = nil
        for index in indexes(on: name) { indexes[index.name] = nil }
        return .ok("DROP TABLE")
    }

    /// For a CREATE: nil when `name` is free; a skip when it is taken and IF NOT EXISTS was
    /// given (PostgreSQL skips whatever kind of relation holds the name); else 42P07.
    func refuseTaken(_ name: String, _ tag: String, ifNotExists: Bool) throws(CatalogError) -> CatalogResult? {
        guard relationKind(named: name) != nil else { return nil }
        guard ifNotExists else { throw .duplicateTable(name) }
        return .skipped(tag, notice: "relation \"\(name)\" already exists, skipping")
    }

    /// For a DROP: nil when `name` is a relation of `kind`; a skip when there is no such
    /// relation and IF EXISTS was given; else 42809 for another kind (even with IF EXISTS, as in
    /// PostgreSQL) or the missing relation's error.
    func refuseMissing(_ name: String, _ kind: RelationKind, _ tag: String, ifExists: Bool) throws(CatalogError) -> CatalogResult? {
        switch relationKind(named: name) {
        case kind?:
            return nil
        case let other?:
            throw .wrongObjectType("\"\(name)\" is not a\(kind == .index ? "n" : "") \(kind.name); use DROP \(other.name.uppercased()) to remove a\(other == .index ? "n" : "") \(other.name)")
        case nil:
            if ifExists { return .skipped(tag, notice: "\(kind.name) \"\(name)\" does not exist, skipping") }
            // PostgreSQL: 42704 for a missing index, 42P01 for a missing table or view.
            throw kind == .index ? .undefinedObject("index \"\(name)\" does not exist") : .undefinedTable(name)
        }
    }

    private mutating func defineGroups(_ definitions: [CatalogGroup]) throws(CatalogError) -> String {
        guard !definitions.isEmpty else { throw .invalidParameter("defineGroups needs at least one group") }
        var updated = groups
        for group in definitions {
            try Self.validate(group, nodes: nodes, limits)
            if let existing = updated[group.id], existing != group {
                guard group.epoch > existing.epoch else {
                    throw .invalidParameter(
                        "group \(group.id) changes at epoch \(group.epoch); it must be above the current epoch \(existing.epoch)")
                }
            }
            updated[group.id] = group
        }
        guard updated.count <= limits.groupsMax else {
            throw .limit("defining \(definitions.count) groups exceeds groups_max = \(limits.groupsMax)")
        }
        groups = updated
        return "DEFINE GROUPS"
    }
}
