/// The records the metadata group replicates (DESIGN.md, "Metadata group"). Plain values: the
/// catalog state machine keeps them keyed for lookup and always encodes them in key order.

/// A node of the cluster as the catalog knows it.
public struct CatalogNode: Sendable, Hashable {
    public enum State: UInt8, Sendable, Hashable {
        case up = 1
        case down = 2

        public var name: String { self == .up ? "up" : "down" }
    }

    public var index: UInt32
    /// The node's Ed25519 public key, 64 lowercase hex digits.
    public var publicKeyHex: String
    public var host: String
    public var port: UInt16
    public var pgPort: UInt16
    /// Failure domain used by placement; empty when unknown.
    public var zone: String
    public var state: State

    public init(index: UInt32, publicKeyHex: String, host: String, port: UInt16, pgPort: UInt16, zone: String, state: State = .up) {
        self.index = index
        self.publicKeyHex = publicKeyHex
        self.host = host
        self.port = port
        self.pgPort = pgPort
        self.zone = zone
        self.state = state
    }
}

/// The SQL types a catalog column may have; each maps to one SQLite storage class on the shards.
public enum CatalogColumnType: UInt8, Sendable, Hashable, CaseIterable {
    case integer = 1
    case real = 2
    case text = 3
    case blob = 4
    case boolean = 5

    public var name: String {
        switch self {
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        case .boolean: "boolean"
        }
    }
}

public struct CatalogColumn: Sendable, Hashable {
    public var name: String
    public var type: CatalogColumnType
    public var notNull: Bool

    public init(name: String, type: CatalogColumnType, notNull: Bool = false) {
        self.name = name
        self.type = type
        self.notNull = notNull
    }
}

/// What `createTable` asks for.
public struct CatalogTableSpec: Sendable, Hashable {
    public var name: String
    public var columns: [CatalogColumn]
    public var primaryKey: [String]
    /// Rows are routed to shards by these columns; they must be part of the primary key, so a
    /// key's uniqueness can be enforced inside one shard.
    public var shardKey: [String]
    public var shardCount: UInt32

    public init(name: String, columns: [CatalogColumn], primaryKey: [String], shardKey: [String], shardCount: UInt32) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.shardKey = shardKey
        self.shardCount = shardCount
    }
}

/// A table as created: its spec, the sequence number that created it, and which group holds
/// each shard (`shardGroups[s]` is the group of shard s).
public struct CatalogTable: Sendable, Hashable {
    public var spec: CatalogTableSpec
    public var createdAtSequence: UInt64
    public var shardGroups: [UInt32]

    public var name: String { spec.name }
}

/// A shard group: the nodes that run one PBFT instance over some shards.
public struct CatalogGroup: Sendable, Hashable {
    public var id: UInt32
    /// Member node indexes, ascending.
    public var members: [UInt32]
    /// Bumped whenever the membership changes, so that messages of an old membership are told apart.
    public var epoch: UInt64

    public init(id: UInt32, members: [UInt32], epoch: UInt64) {
        self.id = id
        self.members = members
        self.epoch = epoch
    }
}
