import QueryPlanner

/// The declared numeric type of a column, enforced on the shards as PostgreSQL enforces it on input.
///
/// SQLite's type affinity stores what it cannot convert as it came: 'abc' in an `integer` column
/// stays text, and an integer overflow becomes a real. A PostgreSQL client then reads a column
/// described as int4 or float8 that holds text (binary drivers misread it), so such values are
/// refused as PostgreSQL refuses them: each checked column gets a named CHECK constraint in the
/// shards' CREATE TABLE (and in the gateway's scratch copy, which evaluates an INSERT before any
/// shard writes). Every replica runs the same checks on the same bytes, so they refuse alike.
///
/// A constraint is named `meshdb <type>`; `GatewayError` turns SQLite's report of it ("CHECK
/// constraint failed: meshdb integer") into 22P02 with the type's message.
///
/// Checked: smallint, integer and bigint (text, blobs, fractions and overflows are refused: the
/// column holds only 64-bit integers), real, double precision and numeric (text and blobs are
/// refused). Not checked: the 16- and 32-bit ranges of smallint and integer, and `varchar(n)`
/// lengths — SQLite's sqllogictest corpus, which the SQL layer must pass, stores `1<<63` in an
/// INTEGER column and 17 characters in a VARCHAR(16); the wire sends an int2/int4 value out of
/// range as int8 — nor boolean, timestamp and text, or columns of tables created before these
/// checks.
enum ColumnTypeChecks {
    /// The prefix of every constraint name this makes.
    static let namePrefix = "meshdb "

    /// `definition` with its type's CHECK constraint last. Not first, though a value of the wrong
    /// type then meets the column's own CHECKs before it (`'abc'` into `x int CHECK (x < 100)` is
    /// 23514, where PostgreSQL says 22P02): SQLite gives a column's later unnamed CHECK the name
    /// of the named constraint before it, so a user's `CHECK (x > 0)` after this one would fail
    /// as "meshdb integer".
    static func adding(to definition: ColumnDefinition) throws(SQLError) -> ColumnDefinition {
        var checked = definition
        if let check = try constraint(for: definition) { checked.constraints.append(check) }
        return checked
    }

    /// `create` with every column's type check.
    static func adding(to create: CreateTable) throws(SQLError) -> CreateTable {
        var checked = create
        for index in checked.columns.indices { checked.columns[index] = try adding(to: checked.columns[index]) }
        return checked
    }

    /// One short CHECK per column: a table may have `columns_max` = 256 columns and its catalog
    /// command, shard DDL included, must fit `command_bytes_max` = 64 KiB, so the constraint names
    /// the type, not the message.
    static func constraint(for definition: ColumnDefinition) throws(SQLError) -> ColumnConstraint? {
        guard let type = definition.type?.name, let kind = Kind(declared: type) else { return nil }
        let column = quoteIdentifier(definition.name.name)
        let condition = "typeof(\(column)) IN (\(kind.storageClasses.map { "'\($0)'" }.joined(separator: ", ")))"
        return ColumnConstraint(.check(try Parser.parseExpression(condition)), name: Identifier(namePrefix + kind.rawValue))
    }

    /// The checked types, by the name their constraint carries.
    enum Kind: String {
        case smallint, integer, bigint, real, double = "double precision", numeric

        init?(declared: String) {
            switch declared {
            case "smallint", "int2": self = .smallint
            case "integer", "int", "int4": self = .integer
            case "bigint", "int8": self = .bigint
            case "real", "float4": self = .real
            case "double precision", "float", "float8": self = .double
            case "numeric", "decimal": self = .numeric
            default: return nil
            }
        }

        /// What a column of the type may hold after SQLite's affinity converted the value. In an
        /// INTEGER-affinity column a real is a fraction or an integer overflow (an integral real
        /// within 64 bits is stored as an integer), and text or a blob is what no number became.
        var storageClasses: [String] {
            switch self {
            case .smallint, .integer, .bigint: ["integer", "null"]
            case .real, .double, .numeric: ["integer", "real", "null"]
            }
        }

        /// What a client is told (22P02, invalid_text_representation). PostgreSQL would round a
        /// fraction into an integer column and say 22003 for an overflow; MeshDB refuses both.
        var message: String {
            switch self {
            case .smallint, .integer, .bigint:
                "invalid input syntax for type \(rawValue): the value is text, bytes, a fraction or beyond 64 bits"
            case .real, .double, .numeric:
                "invalid input syntax for type \(rawValue): the value is text or bytes, not a number"
            }
        }
    }

    /// The SQLSTATE and message of a failed type check, from SQLite's report of it ("CHECK
    /// constraint failed: meshdb integer"); nil for any other message.
    static func failure(inSQLiteMessage message: String) -> (sqlState: String, message: String)? {
        let failed = "CHECK constraint failed: " + namePrefix
        guard message.hasPrefix(failed), let kind = Kind(rawValue: String(message.dropFirst(failed.count))) else { return nil }
        return ("22P02", kind.message)
    }
}
