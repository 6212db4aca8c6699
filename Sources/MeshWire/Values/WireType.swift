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
    public static let int8 = WireType(oid: 20, size: 8, name: "int8")
    public static let int2 = WireType(oid: 21, size: 2, name: "int2")
    public static let int4 = WireType(oid: 23, size: 4, name: "int4")
    public static let text = WireType(oid: 25, size: -1, name: "text")
    public static let float4 = WireType(oid: 700, size: 4, name: "float4")
    public static let float8 = WireType(oid: 701, size: 8, name: "float8")
    /// What a parameter whose type the client left open (OID 0) is reported as.
    public static let unknown = WireType(oid: 705, size: -2, name: "unknown")
    public static let varchar = WireType(oid: 1043, size: -1, name: "varchar")
    public static let timestamp = WireType(oid: 1114, size: 8, name: "timestamp")
    public static let numeric = WireType(oid: 1700, size: -1, name: "numeric")

    /// The types whose text and binary forms MeshWire converts, in OID order.
    public static let known: [WireType] = [bool, bytea, int8, int2, int4, text, unknown, float4, float8, varchar, timestamp, numeric]

    /// The type of an OID; an OID MeshWire has no codec for is carried as text (its text form is
    /// what SQLite stores), keeping the client's OID so that ParameterDescription echoes it.
    public init(oid: Int32) {
        if let type = Self.known.first(where: { $0.oid == oid }) {
            self = type
        } else {
            self = WireType(oid: oid, size: -1, name: "oid \(oid)")
        }
    }
}
