import QueryPlanner

/// A PostgreSQL data type as the wire protocol names it: the OID a RowDescription,
/// ParameterDescription and Parse carry, and the fixed binary size (-1 when variable). The OIDs are
/// PostgreSQL's own (src/include/catalog/pg_type.dat): drivers pick their codecs by them.
public struct WireType: Sendable, Hashable, CustomStringConvertible {
    public let oid: Int32
    public let size: Int16
    public let name: String

    public init(oid: Int32, size: Int16, name: String) {
        self.oid = oid
        self.size = size
        self.name = name
    }

    public var description: String { name }

    public static let bool = WireType(oid: 16, size: 1, name: "bool")
    public static let bytea = WireType(oid: 17, size: -1, name: "bytea")
    public static let name = WireType(oid: 19, size: 64, name: "name")
    public static let int8 = WireType(oid: 20, size: 8, name: "int8")
    public static let int2 = WireType(oid: 21, size: 2, name: "int2")
    public static let int4 = WireType(oid: 23, size: 4, name: "int4")
    public static let regproc = WireType(oid: 24, size: 4, name: "regproc")
    public static let text = WireType(oid: 25, size: -1, name: "text")
    public static let oidType = WireType(oid: 26, size: 4, name: "oid")
    public static let float4 = WireType(oid: 700, size: 4, name: "float4")
    public static let float8 = WireType(oid: 701, size: 8, name: "float8")
    /// What a parameter whose type the client left open (OID 0) is reported as.
    public static let unknown = WireType(oid: 705, size: -2, name: "unknown")
    public static let bpchar = WireType(oid: 1042, size: -1, name: "bpchar")
    public static let varchar = WireType(oid: 1043, size: -1, name: "varchar")
    public static let date = WireType(oid: 1082, size: 4, name: "date")
    public static let timestamp = WireType(oid: 1114, size: 8, name: "timestamp")
    public static let timestamptz = WireType(oid: 1184, size: 8, name: "timestamptz")
    public static let numeric = WireType(oid: 1700, size: -1, name: "numeric")
    public static let regclass = WireType(oid: 2205, size: 4, name: "regclass")
    public static let regtype = WireType(oid: 2206, size: 4, name: "regtype")

    /// The types whose text and binary forms MeshWire converts, in OID order. A result column of
    /// another type can only be sent as text: asked for in binary it is refused
    /// (`WireValueCodec.binary`), as PostgreSQL refuses a type without a send function.
    public static let known: [WireType] = [
        bool, bytea, name, int8, int2, int4, regproc, text, oidType, float4, float8, unknown, bpchar, varchar,
        date, timestamp, timestamptz, numeric, regclass, regtype,
    ]

    /// The type of an OID; an OID MeshWire has no codec for is carried as text (its text form is
    /// what SQLite stores), keeping the client's OID so that ParameterDescription echoes it, and
    /// PostgreSQL's name and size when it is one of the types the SQL layer names.
    public init(oid: Int32) {
        if let type = Self.known.first(where: { $0.oid == oid }) {
            self = type
        } else if let type = PostgresType(oid: UInt32(bitPattern: oid)) {
            self = WireType(oid: oid, size: type.length, name: type.name)
        } else {
            self = WireType(oid: oid, size: -1, name: "oid \(oid)")
        }
    }
}
