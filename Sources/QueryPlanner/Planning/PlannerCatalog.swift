/// What the planner needs to know of the database, and nothing of how it is stored: the binder
/// resolves names against it and the planner routes by it. MeshDB implements it over the
/// PBFT-replicated catalog; tests implement it over plain values.
public protocol PlannerCatalog: Sendable {
    func table(named name: String) -> PlannerTable?
    func view(named name: String) -> PlannerView?
    /// The shard of `table` that holds rows whose shard key is `key` (values after the columns'
    /// affinity, in shard-key order). The same function the write path routes with.
    func shard(of table: PlannerTable, key: [PlannerValue]) -> Int
}

/// A value the planner reasons about: a literal of the statement or a parameter. One of SQLite's
/// five storage classes, since SQLite executes every statement in the end.
public enum PlannerValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

public struct PlannerColumn: Sendable, Hashable {
    public var name: String
    /// As written in CREATE TABLE ("varchar(20)", "integer"); shown by \d and pg_catalog.
    public var declaredType: String
    /// The SQLite declared type the shards use, which decides the column's affinity.
    public var sqliteType: String {
        didSet { affinity = TypeAffinity(declaredType: sqliteType) }
    }
    /// SQLite's affinity of the column (https://www.sqlite.org/datatype3.html, 3.1), kept with
    /// the type: the planner asks for it on every statement that names the column.
    public private(set) var affinity: TypeAffinity
    /// A BLOB/BYTEA column: its values may live out of line in the chunk store (the blob
    /// strategy); the planner never reads it unless a query selects it.
    public var isBlob: Bool
    public var notNull: Bool

    public init(name: String, declaredType: String, sqliteType: String, isBlob: Bool, notNull: Bool) {
        self.name = name
        self.declaredType = declaredType
        self.sqliteType = sqliteType
        self.affinity = TypeAffinity(declaredType: sqliteType)
        self.isBlob = isBlob
        self.notNull = notNull
    }
}

public struct PlannerTable: Sendable, Hashable {
    public var name: String
    public var columns: [PlannerColumn]
    public var primaryKey: [String]
    /// Columns rows are routed by; empty for a table routed by a hidden row id.
    public var shardKey: [String]
    public var shardCount: Int
    /// A system table (`mesh_nodes`…), read from the catalog rather than from shards.
    public var isSystem: Bool

    public init(name: String, columns: [PlannerColumn], primaryKey: [String], shardKey: [String], shardCount: Int, isSystem: Bool = false) {
        self.isSystem = isSystem
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.shardKey = shardKey
        self.shardCount = shardCount
    }

    public func column(named name: String) -> PlannerColumn? { columns.first { $0.name == name } }
    /// Rows are routed by the SQLite rowid, which the gateway assigns.
    public var routedByRowID: Bool { shardKey.isEmpty }
}

public struct PlannerView: Sendable, Hashable {
    public var name: String
    /// The view's SELECT as stored (MeshDB SQL).
    public var sql: String
    /// Column names given in CREATE VIEW name (cols); empty when the query's own names are used.
    public var columns: [String]

    public init(name: String, sql: String, columns: [String]) {
        self.name = name
        self.sql = sql
        self.columns = columns
    }
}

extension TypeAffinity {
    /// The affinity of a declared type by the rules of datatype3.html section 3.1.
    public init(declaredType: String) {
        let type = declaredType.uppercased()
        if type.contains("INT") { self = .integer }
        else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { self = .text }
        else if type.contains("BLOB") || type.isEmpty { self = .blob }
        else if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { self = .real }
        else { self = .numeric }
    }

    /// `value` as this affinity stores or compares it, when that is certain without SQLite's own
    /// text-to-number parser; nil when unsure (the caller then does not prune shards by it).
    public func convertedExactly(_ value: PlannerValue) -> PlannerValue? {
        switch (self, value) {
        case (_, .null): return .null
        case (.integer, .integer), (.numeric, .integer): return value
        case (.integer, .real(let real)), (.numeric, .real(let real)):
            if let exact = Int64(exactly: real) { return .integer(exact) }
            return value
        case (.real, .real): return value
        case (.real, .integer(let integer)):
            let real = Double(integer)
            return Int64(exactly: real) == integer ? .real(real) : nil
        case (.text, .text), (.blob, _): return value
        case (_, .blob): return value
        case (.integer, .text(let text)), (.numeric, .text(let text)), (.real, .text(let text)):
            // A number sent as text (a driver's untyped parameter: pgbench -M extended).
            guard let number = Self.plainNumber(text) else { return nil }
            return convertedExactly(number)
        default: return nil
        }
    }

    /// `text` as a number when it is spelled as one with nothing around it: digits with an
    /// optional sign, point and exponent. SQLite's numeric affinity reads such text the same way;
    /// anything else (spaces, hexadecimal, "inf") gets nil, and no conclusion is drawn from it.
    static func plainNumber(_ text: String) -> PlannerValue? {
        guard !text.isEmpty, text.utf8.count <= 40, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else { return nil }
        if let integer = Int64(text) { return .integer(integer) }
        guard let real = Double(text), real.isFinite else { return nil }
        return .real(real)
    }
}
