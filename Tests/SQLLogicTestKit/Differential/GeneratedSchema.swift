public import MeshDB

/// The column types the differential generator uses: SQLite's three for numbers and text.
public enum GeneratedType: String, Sendable, Hashable, CaseIterable {
    case integer = "INTEGER"
    case real = "REAL"
    case text = "TEXT"

    public var isNumeric: Bool { self != .text }
}

public struct GeneratedColumn: Sendable, Hashable {
    public let name: String
    public let type: GeneratedType
    public let isPrimaryKey: Bool
}

/// A table and its rows (values in column order).
public struct GeneratedTable: Sendable, Hashable {
    public let name: String
    public let columns: [GeneratedColumn]
    public let rows: [[SQLiteValue]]
}

/// How a CREATE TABLE reads for one engine: the hook through which MeshDB adds its sharding
/// options (`SHARDS 8`) while SQLite gets the plain statement.
public struct SchemaDialect: Sendable {
    public let createTable: @Sendable (GeneratedTable) -> String

    public init(createTable: @escaping @Sendable (GeneratedTable) -> String) {
        self.createTable = createTable
    }

    /// `CREATE TABLE t1 (c0 INTEGER PRIMARY KEY, c1 REAL, c2 TEXT)`.
    public static let sqlite = SchemaDialect { table in plainCreateTable(table) }

    /// The plain statement with `options` after the column list, e.g. "SHARDS 8" for MeshDB.
    public static func withTableOptions(_ options: String) -> SchemaDialect {
        SchemaDialect { table in plainCreateTable(table) + " " + options }
    }

    static func plainCreateTable(_ table: GeneratedTable) -> String {
        let columns = table.columns.map { "\($0.name) \($0.type.rawValue)\($0.isPrimaryKey ? " PRIMARY KEY" : "")" }
        return "CREATE TABLE \(table.name) (\(columns.joined(separator: ", ")))"
    }
}

/// Tables with rows, generated from one seed.
public struct GeneratedSchema: Sendable, Hashable {
    public let tables: [GeneratedTable]

    /// Rows per INSERT statement.
    public static let rowsPerInsert = 8

    /// CREATE TABLE statements in `dialect`, then INSERTs of every row. `rowOrder` reorders
    /// each table's rows first (an engine loaded in another order must still agree).
    public func statements(dialect: SchemaDialect, rowOrder: ((GeneratedTable) -> [[SQLiteValue]])? = nil) -> [String] {
        var statements = tables.map(dialect.createTable)
        for table in tables {
            let rows = rowOrder?(table) ?? table.rows
            let columns = table.columns.map(\.name).joined(separator: ", ")
            for start in stride(from: 0, to: rows.count, by: Self.rowsPerInsert) {
                let values = rows[start..<min(start + Self.rowsPerInsert, rows.count)]
                    .map { "(" + $0.map(\.description).joined(separator: ", ") + ")" }
                statements.append("INSERT INTO \(table.name) (\(columns)) VALUES \(values.joined(separator: ", "))")
            }
        }
        return statements
    }
}

/// SQL literals as the generator writes them.
enum SQLLiteral {
    /// A literal inside an expression: `SQLiteValue.description` (which reads back as the same
    /// value: Swift prints the shortest text giving the same double, with a '.' or an exponent),
    /// negative numbers in parentheses so that "a - -1" never becomes the comment "a --1".
    static func operand(_ value: SQLiteValue) -> String {
        let text = value.description
        return text.hasPrefix("-") ? "(" + text + ")" : text
    }
}
