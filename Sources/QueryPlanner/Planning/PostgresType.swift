/// A PostgreSQL data type as clients see it: the OID the wire protocol sends in RowDescription
/// and pg_catalog.pg_type lists. Drivers decode a column by its OID (asyncpg and psycopg pick
/// their codecs by it, and introspect pg_type for an OID they do not know), so the OIDs are
/// PostgreSQL's own (src/include/catalog/pg_type.dat), never ones of MeshDB's choosing.
public struct PostgresType: Sendable, Hashable, CustomStringConvertible {
    public let oid: UInt32
    /// pg_type.typname ("int4", "varchar").
    public let name: String
    /// pg_type.typlen: bytes of the fixed-size binary form, -1 for variable length.
    public let length: Int16
    /// pg_type.typcategory ("N" numeric, "S" string, "B" boolean, "D" date/time, "U" user...).
    public let category: String

    public var description: String { name }

    public static let bool = PostgresType(oid: 16, name: "bool", length: 1, category: "B")
    public static let bytea = PostgresType(oid: 17, name: "bytea", length: -1, category: "U")
    public static let char = PostgresType(oid: 18, name: "char", length: 1, category: "Z")
    public static let name = PostgresType(oid: 19, name: "name", length: 64, category: "S")
    public static let int8 = PostgresType(oid: 20, name: "int8", length: 8, category: "N")
    public static let int2 = PostgresType(oid: 21, name: "int2", length: 2, category: "N")
    public static let int4 = PostgresType(oid: 23, name: "int4", length: 4, category: "N")
    public static let regproc = PostgresType(oid: 24, name: "regproc", length: 4, category: "N")
    public static let text = PostgresType(oid: 25, name: "text", length: -1, category: "S")
    public static let oidType = PostgresType(oid: 26, name: "oid", length: 4, category: "N")
    public static let float4 = PostgresType(oid: 700, name: "float4", length: 4, category: "N")
    public static let float8 = PostgresType(oid: 701, name: "float8", length: 8, category: "N")
    public static let bpchar = PostgresType(oid: 1042, name: "bpchar", length: -1, category: "S")
    public static let varchar = PostgresType(oid: 1043, name: "varchar", length: -1, category: "S")
    public static let date = PostgresType(oid: 1082, name: "date", length: 4, category: "D")
    public static let time = PostgresType(oid: 1083, name: "time", length: 8, category: "D")
    public static let timestamp = PostgresType(oid: 1114, name: "timestamp", length: 8, category: "D")
    public static let timestamptz = PostgresType(oid: 1184, name: "timestamptz", length: 8, category: "D")
    public static let numeric = PostgresType(oid: 1700, name: "numeric", length: -1, category: "N")
    public static let regclass = PostgresType(oid: 2205, name: "regclass", length: 4, category: "N")
    public static let regtype = PostgresType(oid: 2206, name: "regtype", length: 4, category: "N")
    public static let textArray = PostgresType(oid: 1009, name: "_text", length: -1, category: "A")

    /// Every type MeshDB names, by OID: the rows of pg_catalog.pg_type.
    public static let all: [PostgresType] = [
        bool, bytea, char, name, int8, int2, int4, regproc, text, oidType, float4, float8, textArray, bpchar, varchar,
        date, time, timestamp, timestamptz, numeric, regclass, regtype,
    ]

    /// The type a type name denotes, as written in a cast or a column definition ("integer",
    /// "character varying", "pg_catalog.text", "double precision"); nil for a name PostgreSQL
    /// does not know either. Modifiers (`varchar(20)`) are ignored: they do not change the OID.
    public init?(named written: String) {
        var name = written.lowercased()
        if let open = name.firstIndex(of: "(") { name = String(name[..<open]) }
        while name.last == " " { name.removeLast() }
        if name.hasPrefix("pg_catalog.") { name = String(name.dropFirst("pg_catalog.".count)) }
        let type: PostgresType? = switch name {
        case "bool", "boolean": .bool
        case "bytea", "blob": .bytea
        case "\"char\"": .char
        case "name": .name
        case "int8", "bigint": .int8
        case "int2", "smallint": .int2
        case "int4", "int", "integer": .int4
        case "text", "clob": .text
        case "oid": .oidType
        case "float4", "real": .float4
        case "float8", "double precision", "float", "double": .float8
        case "bpchar", "char", "character", "nchar": .bpchar
        case "varchar", "character varying", "nvarchar": .varchar
        case "date": .date
        case "time", "time without time zone": .time
        case "timestamp", "timestamp without time zone", "datetime": .timestamp
        case "timestamptz", "timestamp with time zone": .timestamptz
        case "numeric", "decimal": .numeric
        case "regclass": .regclass
        case "regtype": .regtype
        case "regproc": .regproc
        case "text[]", "_text": .textArray
        default: nil
        }
        guard let type else { return nil }
        self = type
    }

    /// The type with `oid`, if MeshDB names it.
    public init?(oid: UInt32) {
        guard let type = Self.all.first(where: { $0.oid == oid }) else { return nil }
        self = type
    }

    private init(oid: UInt32, name: String, length: Int16, category: String) {
        self.oid = oid
        self.name = name
        self.length = length
        self.category = category
    }

    /// format_type's spelling, which \d shows: "integer", "character varying(20)".
    public func formatted(modifiers: [Int] = []) -> String {
        let base = switch self {
        case .bool: "boolean"
        case .int8: "bigint"
        case .int2: "smallint"
        case .int4: "integer"
        case .float4: "real"
        case .float8: "double precision"
        case .bpchar: "character"
        case .varchar: "character varying"
        case .timestamp: "timestamp without time zone"
        case .timestamptz: "timestamp with time zone"
        case .time: "time without time zone"
        case .textArray: "text[]"
        case .char: "\"char\""
        default: name
        }
        return modifiers.isEmpty ? base : "\(base)(\(modifiers.map(String.init).joined(separator: ",")))"
    }
}
