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

/// The SQL types a catalog column may have; each maps to one SQLite declared type on the shards
/// (`ShardRouting`), whose affinity decides how SQLite stores the values.
public enum CatalogColumnType: UInt8, Sendable, Hashable, CaseIterable {
    case integer = 1
    case real = 2
    case text = 3
    case blob = 4
    case boolean = 5
    /// SQLite's NUMERIC affinity: exact integers stay integers, other numbers become reals.
    case numeric = 6
    /// Stored as ISO-8601 text, which sorts like the instants it names.
    case timestamp = 7

    public var name: String {
        switch self {
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        case .boolean: "boolean"
        case .numeric: "numeric"
        case .timestamp: "timestamp"
        }
    }
}

public struct CatalogColumn: Sendable, Hashable {
    public var name: String
    public var type: CatalogColumnType
    public var notNull: Bool
    /// The type as the statement wrote it ("varchar(20)", "numeric(10,2)", "double precision"),
    /// lowercase; `type.name` when the statement gave nothing more precise. Informational: what
    /// pg_catalog and `mesh_columns` show; the shards store by `type`.
    public var declaredType: String
    /// Whether the column carries a single-column UNIQUE constraint. Informational, like
    /// `hasDefault`: the shard DDL enforces both; the catalog checks the UNIQUE one against the
    /// shard key (see `CatalogTableSpec.uniqueConstraints`).
    public var unique: Bool
    public var hasDefault: Bool

    public init(name: String, type: CatalogColumnType, notNull: Bool = false, declaredType: String? = nil,
                unique: Bool = false, hasDefault: Bool = false) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.declaredType = declaredType ?? type.name
        self.unique = unique
        self.hasDefault = hasDefault
    }
}

/// A table-level UNIQUE constraint, `CONSTRAINT name UNIQUE (columns)`.
public struct CatalogUniqueConstraint: Sendable, Hashable {
    /// The constraint's name; empty when the statement gave none (messages then use
    /// PostgreSQL's default, `<table>_<columns>_key`).
    public var name: String
    public var columns: [String]

    public init(name: String = "", columns: [String]) {
        self.name = name
        self.columns = columns
    }
}

/// What `createTable` asks for.
public struct CatalogTableSpec: Sendable, Hashable {
    public var name: String
    public var columns: [CatalogColumn]
    /// Empty for a table without a primary key.
    public var primaryKey: [String]
    /// Rows are routed to shards by these columns. Every PRIMARY KEY and UNIQUE constraint must
    /// include them, so that a key's uniqueness can be enforced inside one shard. Empty together
    /// with `primaryKey` for a table sharded by its hidden row id (`hasHiddenRowID`).
    public var shardKey: [String]
    public var shardCount: UInt32
    /// Multi-column (or named) UNIQUE constraints; single-column ones may be given here or as
    /// `CatalogColumn.unique`.
    public var uniqueConstraints: [CatalogUniqueConstraint]
    /// The exact SQLite statements a shard runs to create the table, rendered by the planner with
    /// its DEFAULT, CHECK, UNIQUE, NOT NULL and PRIMARY KEY clauses. Empty: the shards run
    /// `ShardRouting.createTableSQL(for:)`, rendered from `columns` and `primaryKey`.
    public var shardDDL: [String]

    public init(name: String, columns: [CatalogColumn], primaryKey: [String], shardKey: [String], shardCount: UInt32,
                uniqueConstraints: [CatalogUniqueConstraint] = [], shardDDL: [String] = []) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.shardKey = shardKey
        self.shardCount = shardCount
        self.uniqueConstraints = uniqueConstraints
        self.shardDDL = shardDDL
    }

    /// A table without a primary key or shard key: its rows are routed by the SQLite rowid of the
    /// shard table, which the gateway allocates from the catalog (`allocateRowIDs`) so that ids
    /// are unique across all gateways and shards.
    public var hasHiddenRowID: Bool { primaryKey.isEmpty && shardKey.isEmpty }
}

/// A table as created: its spec, the object id and sequence number that created it, which group
/// holds each shard (`shardGroups[s]` is the group of shard s) and, for a table with a hidden
/// row id, the next id `allocateRowIDs` hands out.
public struct CatalogTable: Sendable, Hashable {
    public var spec: CatalogTableSpec
    /// Unique among all objects ever created in this catalog (never reused after a drop), like a
    /// PostgreSQL oid: it tells a re-created table from the dropped one of the same name.
    public var id: UInt64
    public var createdAtSequence: UInt64
    public var shardGroups: [UInt32]
    public var nextRowID: Int64

    public var name: String { spec.name }
}

/// An index on a table's columns; its shards run `sql`.
public struct CatalogIndex: Sendable, Hashable {
    public var name: String
    public var table: String
    public var columns: [String]
    public var unique: Bool
    /// The CREATE [UNIQUE] INDEX statement each shard of the table runs, as the planner rendered
    /// it (with its column order, collations and WHERE clause).
    public var sql: String

    public init(name: String, table: String, columns: [String], unique: Bool, sql: String) {
        self.name = name
        self.table = table
        self.columns = columns
        self.unique = unique
        self.sql = sql
    }
}

/// A view: a stored query the planner expands; it holds no rows and has no shards.
public struct CatalogView: Sendable, Hashable {
    public var name: String
    /// The view's query as the planner stored it.
    public var sql: String
    /// Output column names; empty when unknown.
    public var columns: [String]

    public init(name: String, sql: String, columns: [String] = []) {
        self.name = name
        self.sql = sql
        self.columns = columns
    }
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
