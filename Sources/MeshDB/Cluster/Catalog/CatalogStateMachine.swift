public import Consensus

/// The metadata group's replicated state (DESIGN.md, "Metadata group"): nodes, tables, the
/// shard → group map and groups. A pure value: no clock, no disk, no randomness; a command's
/// result and the next state depend only on the state and the command, so every correct
/// replica agrees. Records are kept in dictionaries for lookup and always read out in key
/// order (never in a dictionary's order, which differs per process).
public struct CatalogStateMachine: ReplicatedStateMachine, Sendable {
    public let limits: CatalogLimits
    var nodes: [UInt32: CatalogNode] = [:]
    var tables: [String: CatalogTable] = [:]
    var groups: [UInt32: CatalogGroup] = [:]

    public init(limits: CatalogLimits = CatalogLimits()) {
        self.limits = limits
    }

    /// Nodes by index.
    public var sortedNodes: [CatalogNode] { nodes.keys.sorted().map { nodes[$0]! } }
    /// Tables by name.
    public var sortedTables: [CatalogTable] { tables.keys.sorted(by: Self.nameOrder).map { tables[$0]! } }
    /// Groups by id.
    public var sortedGroups: [CatalogGroup] { groups.keys.sorted().map { groups[$0]! } }

    public func node(index: UInt32) -> CatalogNode? { nodes[index] }
    public func table(named name: String) -> CatalogTable? { tables[name] }
    public func group(id: UInt32) -> CatalogGroup? { groups[id] }

    /// Plain byte order, the same on every platform and locale (names are ASCII).
    static func nameOrder(_ lhs: String, _ rhs: String) -> Bool {
        Array(lhs.utf8).lexicographicallyPrecedes(Array(rhs.utf8))
    }

    public mutating func execute(sequence: UInt64, requests: [Request]) -> [[UInt8]] {
        requests.map { execute(command: $0.operation, sequence: sequence).encoded() }
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
            case .createTable(let spec, let ifNotExists): return .ok(try createTable(spec, ifNotExists: ifNotExists, sequence: sequence))
            case .dropTable(let name, let ifExists): return .ok(try dropTable(name, ifExists: ifExists))
            case .defineGroups(let definitions): return .ok(try defineGroups(definitions))
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

    private mutating func setNodeState(_ index: UInt32, _ state: CatalogNode.State) throws(CatalogError) -> String {
        guard nodes[index] != nil else { throw .undefinedObject("node \(index) is not registered") }
        nodes[index]!.state = state
        return "SET NODE STATE"
    }

    private mutating func createTable(_ spec: CatalogTableSpec, ifNotExists: Bool, sequence: UInt64) throws(CatalogError) -> String {
        try Self.validate(spec, limits)
        if tables[spec.name] != nil {
            if ifNotExists { return "CREATE TABLE" }
            throw .duplicateTable(spec.name)
        }
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
        tables[spec.name] = CatalogTable(spec: spec, createdAtSequence: sequence, shardGroups: shardGroups)
        return "CREATE TABLE"
    }

    private mutating func dropTable(_ name: String, ifExists: Bool) throws(CatalogError) -> String {
        guard tables.removeValue(forKey: name) != nil || ifExists else { throw .undefinedTable(name) }
        return "DROP TABLE"
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
