/// A column or CAST type as written: `varchar(20)` is `.named("varchar", modifiers: [20])`,
/// `DOUBLE PRECISION` is `.named("double precision")`. The parser accepts only the names in
/// `TypeName.affinities` (PostgreSQL's spellings plus SQLite's BLOB), so that every accepted type
/// has a known meaning on the shards.
public struct TypeName: Sendable, Hashable, CustomStringConvertible {
    /// Lower case, words separated by one space.
    public var name: String
    /// `(n)` or `(p, s)`; SQLite ignores them, PostgreSQL checks them.
    public var modifiers: [Int]
    public var location: SourceLocation

    public init(_ name: String, modifiers: [Int] = [], at location: SourceLocation = .synthesized) {
        self.name = name
        self.modifiers = modifiers
        self.location = location
    }

    public static func named(_ name: String, modifiers: [Int] = []) -> TypeName {
        TypeName(name, modifiers: modifiers)
    }

    /// SQLite's type affinity for each accepted name. INTEGER affinity for every integer spelling
    /// (and BOOLEAN, which SQLite stores as 0/1); TEXT for strings and TIMESTAMP (ISO-8601 text,
    /// which sorts in time order).
    public static let affinities: [String: TypeAffinity] = [
        "integer": .integer, "int": .integer, "bigint": .integer, "smallint": .integer,
        "int2": .integer, "int4": .integer, "int8": .integer,
        "boolean": .integer, "bool": .integer,
        "real": .real, "double precision": .real, "float": .real, "float4": .real, "float8": .real,
        "numeric": .numeric, "decimal": .numeric,
        "text": .text, "varchar": .text, "char": .text, "character": .text, "character varying": .text,
        "timestamp": .text,
        "blob": .blob, "bytea": .blob,
        // PostgreSQL's object identifier types, which catalog queries cast to: an OID is an
        // integer; a name is text.
        "oid": .integer, "regclass": .integer, "regtype": .integer, "regnamespace": .integer, "regproc": .integer,
        "name": .text,
    ]

    /// Nil for a name the parser would not have accepted.
    public var affinity: TypeAffinity? {
        // A PostgreSQL array (`int2[]`) reaches SQLite as its text form, `{1,2}`.
        name.hasSuffix("[]") ? .text : Self.affinities[name]
    }

    /// The type to declare or CAST to in SQLite: the affinity's own name, so that every spelling
    /// of a type behaves alike on the shards (`INT PRIMARY KEY` becomes `INTEGER PRIMARY KEY`, a
    /// rowid alias, like `INTEGER PRIMARY KEY`).
    public var sqliteDeclaredType: String { (affinity ?? .blob).rawValue }

    public var description: String {
        modifiers.isEmpty ? name : "\(name)(\(modifiers.map(String.init).joined(separator: ", ")))"
    }
}

/// SQLite's five affinities (https://sqlite.org/datatype3.html#type_affinity).
public enum TypeAffinity: String, Sendable, Hashable {
    case integer = "INTEGER", real = "REAL", numeric = "NUMERIC", text = "TEXT", blob = "BLOB"
}
