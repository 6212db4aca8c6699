// The syntax tree of MeshDB's SQL dialect: what the parser produces and the binder, planner and
// SQLite renderer consume. Every node is a value (struct or enum), Sendable and Hashable, so a
// tree can cross actors, be cached by its text and compared structurally. Nodes keep what was
// written, not what it means: names are folded as PostgreSQL folds them (unquoted to lower case),
// types keep their spelling (`varchar(20)`), `x::t` and `CAST(x AS t)` are one node, and
// parentheses leave no trace (the renderer parenthesizes every sub-expression instead). Sequences
// that SQLite evaluates left to right at one level — compound SELECTs and join chains — are flat
// arrays rather than left-deep trees, which keeps the tree shallow; expression trees are bounded
// by `Parser.Limits.expressionDepthMax`, so every recursive walk over a parsed tree is bounded too.
// Each expression and each name carries a `SourceLocation` (a byte offset into the statement
// text) for error positions; locations take no part in equality or hashing, so `a + 1` written
// twice in one statement gives two equal expressions (GROUP BY matching relies on that).

/// Where a node starts in the statement text: a 0-based offset in UTF-8 bytes. For operators it is
/// the operator token, as PostgreSQL reports it. Locations never make two nodes unequal: equality
/// and hashing ignore them (compare `offset` directly to test a position).
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var offset: Int

    public init(offset: Int) {
        precondition(offset >= 0, "a source offset is never negative")
        self.offset = offset
    }

    /// For nodes made by the planner rather than parsed (a literal replacing `now()`).
    public static let synthesized = SourceLocation(offset: 0)

    public static func == (lhs: SourceLocation, rhs: SourceLocation) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool { lhs.offset < rhs.offset }

    /// PostgreSQL's error position: the 1-based index of the character (Unicode scalar) at this
    /// offset in `text`, the statement the location was parsed from.
    public func characterPosition(in text: String) -> Int {
        let bytes = text.utf8
        let end = bytes.index(bytes.startIndex, offsetBy: min(offset, bytes.count))
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self).unicodeScalars.count + 1
    }

    public var description: String { "@\(offset)" }
}

/// A name as the user wrote it, after PostgreSQL's folding: unquoted names are lower-cased, quoted
/// names ("Mixed Case") are kept exactly.
public struct Identifier: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var location: SourceLocation

    public init(_ name: String, at location: SourceLocation = .synthesized) {
        self.name = name
        self.location = location
    }

    public var description: String { name }
}

// MARK: - Statements

/// One SQL statement.
public indirect enum Statement: Sendable, Hashable {
    case select(Select)
    case insert(Insert)
    case update(Update)
    case delete(Delete)
    case createTable(CreateTable)
    case createIndex(CreateIndex)
    case createView(CreateView)
    case drop(Drop)
    case reindex(Reindex)
    case alterTable(AlterTable)
    case set(SetVariable)
    case show(Show)
    case explain(Explain)
    case transaction(TransactionStatement)
    /// CREATE / ALTER / DROP USER.
    case user(UserStatement)
    case truncate(Truncate)
    case vacuum(Vacuum)
    /// DEALLOCATE, DISCARD, CLOSE, UNLISTEN: what drivers and poolers send to reset a session.
    case session(SessionCommand)

    /// Where the statement's first keyword is.
    public var location: SourceLocation {
        switch self {
        case .select(let node): node.location
        case .insert(let node): node.location
        case .update(let node): node.location
        case .delete(let node): node.location
        case .createTable(let node): node.location
        case .createIndex(let node): node.location
        case .createView(let node): node.location
        case .drop(let node): node.location
        case .reindex(let node): node.location
        case .alterTable(let node): node.location
        case .set(let node): node.location
        case .show(let node): node.location
        case .explain(let node): node.location
        case .transaction(let node): node.location
        case .user(let node): node.location
        case .truncate(let node): node.location
        case .vacuum(let node): node.location
        case .session(let node): node.location
        }
    }
}

// MARK: - Queries

/// A query expression: `[WITH ...] body [ORDER BY ...] [LIMIT ...] [OFFSET ...]`. It is a whole
/// SELECT statement, a subquery, a view's definition or the rows an INSERT adds.
public struct Select: Sendable, Hashable {
    public var with: [CommonTableExpression]
    public var body: SelectBody
    /// Applies to the whole compound, after the set operations.
    public var orderBy: [OrderingTerm]
    public var limit: Expression?
    public var offset: Expression?
    public var location: SourceLocation

    public init(with: [CommonTableExpression] = [], body: SelectBody, orderBy: [OrderingTerm] = [],
                limit: Expression? = nil, offset: Expression? = nil, at location: SourceLocation = .synthesized) {
        self.with = with
        self.body = body
        self.orderBy = orderBy
        self.limit = limit
        self.offset = offset
        self.location = location
    }
}

extension Select {
    /// Levels in this query's tree: one more than its tallest expression, common table or FROM
    /// subquery (see `Expression.height`). Computed by a walk over the query levels only, since
    /// expressions keep their own heights.
    public var height: Int {
        var tallest = with.reduce(0) { max($0, $1.query.height) }
        for term in [body.first] + body.compounds.map(\.term) {
            switch term {
            case .values(let values):
                for row in values.rows { tallest = row.reduce(tallest) { max($0, $1.height) } }
            case .select(let core):
                for item in core.items {
                    if case .expression(let value, _) = item { tallest = max(tallest, value.height) }
                }
                if let from = core.from { tallest = max(tallest, from.height) }
                for value in [core.whereClause, core.having].compactMap({ $0 }) + core.groupBy {
                    tallest = max(tallest, value.height)
                }
            }
        }
        for value in orderBy.map(\.expression) + [limit, offset].compactMap({ $0 }) { tallest = max(tallest, value.height) }
        return tallest + 1
    }
}

extension FromClause {
    /// See `Select.height`.
    public var height: Int {
        var tallest = first.height
        for join in joins {
            tallest = max(tallest, join.table.height)
            if case .on(let condition) = join.constraint { tallest = max(tallest, condition.height) }
        }
        return tallest + 1
    }
}

extension TableReference {
    /// See `Select.height`.
    public var height: Int {
        switch self {
        case .table: 1
        case .subquery(let query, _, _): query.height + 1
        case .nested(let from, _): from.height + 1
        }
    }
}

/// `name [(columns)] AS (query)` in a WITH clause (non-recursive: WITH RECURSIVE is refused).
public struct CommonTableExpression: Sendable, Hashable {
    public var name: Identifier
    public var columns: [Identifier]
    public var query: Select
    /// Whether its query may read itself: only the parser's own rewrite of generate_series
    /// (a bounded recursion) sets it; SQLite needs no keyword for it.
    public var recursive: Bool

    public init(name: Identifier, columns: [Identifier] = [], query: Select, recursive: Bool = false) {
        self.name = name
        self.columns = columns
        self.query = query
        self.recursive = recursive
    }
}

/// `first [op term]...`. SQLite gives UNION, UNION ALL, INTERSECT and EXCEPT one precedence and
/// applies them left to right, so a compound is this flat list; PostgreSQL binds INTERSECT tighter
/// (MeshDB follows SQLite, see docs/sql.md).
public struct SelectBody: Sendable, Hashable {
    public var first: QueryTerm
    public var compounds: [CompoundTerm]

    public init(_ first: QueryTerm, compounds: [CompoundTerm] = []) {
        self.first = first
        self.compounds = compounds
    }
}

public struct CompoundTerm: Sendable, Hashable {
    public var setOperator: SetOperator
    public var term: QueryTerm
    /// The operator keyword.
    public var location: SourceLocation

    public init(_ setOperator: SetOperator, _ term: QueryTerm, at location: SourceLocation = .synthesized) {
        self.setOperator = setOperator
        self.term = term
        self.location = location
    }
}

public enum SetOperator: Sendable, Hashable {
    case union, unionAll, intersect, except
}

/// One operand of a compound: a SELECT core or a VALUES list (`VALUES (1, 'a'), (2, 'b')`, which is
/// also what `INSERT ... VALUES` parses to).
public enum QueryTerm: Sendable, Hashable {
    case select(SelectCore)
    case values(Values)
}

public struct Values: Sendable, Hashable {
    /// At least one row; every row has the same number of values (the parser checks).
    public var rows: [[Expression]]
    public var location: SourceLocation

    public init(_ rows: [[Expression]], at location: SourceLocation = .synthesized) {
        self.rows = rows
        self.location = location
    }
}

/// `SELECT [DISTINCT] items [FROM ...] [WHERE ...] [GROUP BY ...] [HAVING ...]`.
public struct SelectCore: Sendable, Hashable {
    public var distinct: Bool
    public var items: [SelectItem]
    public var from: FromClause?
    public var whereClause: Expression?
    public var groupBy: [Expression]
    public var having: Expression?
    public var location: SourceLocation

    public init(distinct: Bool = false, items: [SelectItem], from: FromClause? = nil, whereClause: Expression? = nil,
                groupBy: [Expression] = [], having: Expression? = nil, at location: SourceLocation = .synthesized) {
        self.distinct = distinct
        self.items = items
        self.from = from
        self.whereClause = whereClause
        self.groupBy = groupBy
        self.having = having
        self.location = location
    }
}

/// One entry of a select list or a RETURNING list.
public enum SelectItem: Sendable, Hashable {
    /// `*`
    case wildcard(SourceLocation)
    /// `t.*`
    case tableWildcard(Identifier)
    /// `expr [[AS] alias]`
    case expression(Expression, alias: Identifier?)
}

/// `ORDER BY expression [ASC|DESC] [NULLS FIRST|LAST]`. An integer literal is a column ordinal
/// (the binder resolves it). Nil direction and nulls mean "as written: none", and SQLite's
/// defaults apply: ascending, NULLs first when ascending (PostgreSQL puts them last).
public struct OrderingTerm: Sendable, Hashable {
    public var expression: Expression
    public var direction: SortDirection?
    public var nulls: NullsOrder?

    public init(_ expression: Expression, direction: SortDirection? = nil, nulls: NullsOrder? = nil) {
        self.expression = expression
        self.direction = direction
        self.nulls = nulls
    }
}

public enum SortDirection: Sendable, Hashable {
    case ascending, descending
}

public enum NullsOrder: Sendable, Hashable {
    case first, last
}

/// `FROM first [join]...`: SQLite evaluates a comma list and a JOIN chain left to right at one
/// level (`a, b JOIN c ON ...` is `(a, b) JOIN c`), hence a flat list. Parenthesized joins nest
/// through `TableReference.nested`.
public struct FromClause: Sendable, Hashable {
    public var first: TableReference
    public var joins: [JoinClause]

    public init(_ first: TableReference, joins: [JoinClause] = []) {
        self.first = first
        self.joins = joins
    }
}

public struct JoinClause: Sendable, Hashable {
    public var kind: JoinKind
    public var table: TableReference
    public var constraint: JoinConstraint?
    /// The comma or the first keyword of the join operator.
    public var location: SourceLocation

    public init(_ kind: JoinKind, _ table: TableReference, constraint: JoinConstraint? = nil,
                at location: SourceLocation = .synthesized) {
        self.kind = kind
        self.table = table
        self.constraint = constraint
        self.location = location
    }
}

/// `.comma` and `.cross` mean the same; they are kept apart so that the rendering reads as written.
/// `JOIN` and `INNER JOIN` are `.inner`, `LEFT [OUTER] JOIN` is `.left`.
public enum JoinKind: Sendable, Hashable {
    case comma, inner, left, cross
}

public enum JoinConstraint: Sendable, Hashable {
    case on(Expression)
    case using([Identifier])
}

public indirect enum TableReference: Sendable, Hashable {
    /// `name [[AS] alias] [INDEXED BY index | NOT INDEXED]`
    case table(NamedTable)
    /// `(query) [AS] alias` (PostgreSQL requires the alias; SQLite does not, nor does MeshDB)
    case subquery(Select, alias: Identifier?, location: SourceLocation)
    /// `(a JOIN b ON ...)`
    case nested(FromClause, location: SourceLocation)
}

public struct NamedTable: Sendable, Hashable {
    public var name: Identifier
    public var alias: Identifier?
    /// SQLite's index hint; kept so that the rendering means the same.
    public var indexHint: IndexHint?

    public init(_ name: Identifier, alias: Identifier? = nil, indexHint: IndexHint? = nil) {
        self.name = name
        self.alias = alias
        self.indexHint = indexHint
    }
}

public enum IndexHint: Sendable, Hashable {
    case indexedBy(Identifier)
    case notIndexed
}

// MARK: - Data changes

/// `INSERT [OR resolution] INTO table [AS alias] [(columns)] source [ON CONFLICT ...] [RETURNING ...]`;
/// `REPLACE INTO` is `INSERT OR REPLACE INTO`.
public struct Insert: Sendable, Hashable {
    public var with: [CommonTableExpression]
    public var conflictResolution: ConflictResolution?
    public var table: Identifier
    public var alias: Identifier?
    public var columns: [Identifier]
    public var source: InsertSource
    public var onConflict: OnConflict?
    public var returning: [SelectItem]
    public var location: SourceLocation

    public init(with: [CommonTableExpression] = [], conflictResolution: ConflictResolution? = nil, table: Identifier,
                alias: Identifier? = nil, columns: [Identifier] = [], source: InsertSource, onConflict: OnConflict? = nil,
                returning: [SelectItem] = [], at location: SourceLocation = .synthesized) {
        self.with = with
        self.conflictResolution = conflictResolution
        self.table = table
        self.alias = alias
        self.columns = columns
        self.source = source
        self.onConflict = onConflict
        self.returning = returning
        self.location = location
    }
}

public enum InsertSource: Sendable, Hashable {
    /// `VALUES ...` (a `Select` whose body is one `.values` term) or a query.
    case query(Select)
    case defaultValues
}

/// SQLite's `OR REPLACE`, `OR IGNORE`, ...: what to do when a constraint fails.
public enum ConflictResolution: Sendable, Hashable {
    case replace, ignore, abort, fail, rollback
}

/// `ON CONFLICT [(columns)] DO NOTHING | DO UPDATE SET ... [WHERE ...]`. In the update, the row that
/// was refused is `excluded` (a column reference with table `excluded`).
public struct OnConflict: Sendable, Hashable {
    public var target: [Identifier]
    public var action: OnConflictAction
    public var location: SourceLocation

    public init(target: [Identifier] = [], action: OnConflictAction, at location: SourceLocation = .synthesized) {
        self.target = target
        self.action = action
        self.location = location
    }
}

public enum OnConflictAction: Sendable, Hashable {
    case doNothing
    case doUpdate([Assignment], whereClause: Expression?)
}

/// `column = value` in UPDATE ... SET and ON CONFLICT DO UPDATE SET.
public struct Assignment: Sendable, Hashable {
    public var column: Identifier
    public var value: Expression

    public init(_ column: Identifier, _ value: Expression) {
        self.column = column
        self.value = value
    }
}

/// `UPDATE [OR resolution] table [AS alias] SET assignments [WHERE ...] [RETURNING ...]`.
public struct Update: Sendable, Hashable {
    public var with: [CommonTableExpression]
    public var conflictResolution: ConflictResolution?
    public var table: Identifier
    public var alias: Identifier?
    public var assignments: [Assignment]
    public var whereClause: Expression?
    public var returning: [SelectItem]
    public var location: SourceLocation

    public init(with: [CommonTableExpression] = [], conflictResolution: ConflictResolution? = nil, table: Identifier,
                alias: Identifier? = nil, assignments: [Assignment], whereClause: Expression? = nil,
                returning: [SelectItem] = [], at location: SourceLocation = .synthesized) {
        self.with = with
        self.conflictResolution = conflictResolution
        self.table = table
        self.alias = alias
        self.assignments = assignments
        self.whereClause = whereClause
        self.returning = returning
        self.location = location
    }
}

/// `DELETE FROM table [AS alias] [WHERE ...] [RETURNING ...]`.
public struct Delete: Sendable, Hashable {
    public var with: [CommonTableExpression]
    public var table: Identifier
    public var alias: Identifier?
    public var whereClause: Expression?
    public var returning: [SelectItem]
    public var location: SourceLocation

    public init(with: [CommonTableExpression] = [], table: Identifier, alias: Identifier? = nil,
                whereClause: Expression? = nil, returning: [SelectItem] = [], at location: SourceLocation = .synthesized) {
        self.with = with
        self.table = table
        self.alias = alias
        self.whereClause = whereClause
        self.returning = returning
        self.location = location
    }
}

// MARK: - Schema

/// `CREATE TABLE [IF NOT EXISTS] name (columns, constraints) [SHARD BY (columns)] [SHARDS n]`.
/// The two options are MeshDB's (how rows spread over shards); the renderer leaves them out.
public struct CreateTable: Sendable, Hashable {
    public var ifNotExists: Bool
    public var name: Identifier
    public var columns: [ColumnDefinition]
    public var constraints: [TableConstraint]
    /// Nil when not written: the planner's default applies (the primary key, else a hidden row id).
    public var shardBy: [Identifier]?
    /// Nil when not written.
    public var shardCount: Int?
    /// PostgreSQL's `WITH (fillfactor = 100, ...)`, as `name` or `name=value`: accepted so that
    /// tools such as pgbench can create their tables, and ignored (SQLite has no such knobs).
    public var storageParameters: [String] = []
    public var location: SourceLocation

    public init(ifNotExists: Bool = false, name: Identifier, columns: [ColumnDefinition],
                constraints: [TableConstraint] = [], shardBy: [Identifier]? = nil, shardCount: Int? = nil,
                at location: SourceLocation = .synthesized) {
        self.ifNotExists = ifNotExists
        self.name = name
        self.columns = columns
        self.constraints = constraints
        self.shardBy = shardBy
        self.shardCount = shardCount
        self.location = location
    }
}

public struct ColumnDefinition: Sendable, Hashable {
    public var name: Identifier
    /// Nil when no type was written (SQLite allows it; the column then has BLOB affinity).
    public var type: TypeName?
    public var constraints: [ColumnConstraint]

    public init(_ name: Identifier, type: TypeName?, constraints: [ColumnConstraint] = []) {
        self.name = name
        self.type = type
        self.constraints = constraints
    }
}

public struct ColumnConstraint: Sendable, Hashable {
    /// `CONSTRAINT name`, when written.
    public var name: Identifier?
    public var kind: Kind
    public var location: SourceLocation

    public enum Kind: Sendable, Hashable {
        case primaryKey(SortDirection?)
        case notNull
        case null
        case unique
        case defaultValue(Expression)
        case check(Expression)
    }

    public init(_ kind: Kind, name: Identifier? = nil, at location: SourceLocation = .synthesized) {
        self.name = name
        self.kind = kind
        self.location = location
    }
}

public struct TableConstraint: Sendable, Hashable {
    public var name: Identifier?
    public var kind: Kind
    public var location: SourceLocation

    public enum Kind: Sendable, Hashable {
        case primaryKey([IndexedColumn])
        case unique([IndexedColumn])
        case check(Expression)
    }

    public init(_ kind: Kind, name: Identifier? = nil, at location: SourceLocation = .synthesized) {
        self.name = name
        self.kind = kind
        self.location = location
    }
}

/// A column of an index or of a PRIMARY KEY / UNIQUE constraint.
public struct IndexedColumn: Sendable, Hashable {
    public var name: Identifier
    public var direction: SortDirection?

    public init(_ name: Identifier, direction: SortDirection? = nil) {
        self.name = name
        self.direction = direction
    }
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns) [WHERE predicate]`.
public struct CreateIndex: Sendable, Hashable {
    public var unique: Bool
    public var ifNotExists: Bool
    public var name: Identifier
    public var table: Identifier
    public var columns: [IndexedColumn]
    /// A partial index's predicate.
    public var whereClause: Expression?
    public var location: SourceLocation

    public init(unique: Bool = false, ifNotExists: Bool = false, name: Identifier, table: Identifier,
                columns: [IndexedColumn], whereClause: Expression? = nil, at location: SourceLocation = .synthesized) {
        self.unique = unique
        self.ifNotExists = ifNotExists
        self.name = name
        self.table = table
        self.columns = columns
        self.whereClause = whereClause
        self.location = location
    }
}

/// `CREATE [TEMP|TEMPORARY] VIEW [IF NOT EXISTS] name [(columns)] AS query`. TEMP is parsed (the
/// corpus uses it) and left to the planner to refuse or accept.
public struct CreateView: Sendable, Hashable {
    public var temporary: Bool
    public var ifNotExists: Bool
    public var name: Identifier
    public var columns: [Identifier]
    public var query: Select
    public var location: SourceLocation

    public init(temporary: Bool = false, ifNotExists: Bool = false, name: Identifier, columns: [Identifier] = [],
                query: Select, at location: SourceLocation = .synthesized) {
        self.temporary = temporary
        self.ifNotExists = ifNotExists
        self.name = name
        self.columns = columns
        self.query = query
        self.location = location
    }
}

/// `DROP TABLE | INDEX | VIEW [IF EXISTS] name [, name ...]`.
public struct Drop: Sendable, Hashable {
    public var objectKind: SchemaObjectKind
    public var ifExists: Bool
    /// At least one name, in the order written.
    public var names: [Identifier]
    public var location: SourceLocation

    /// The first name (the only one, in most statements).
    public var name: Identifier { names[0] }

    public init(_ objectKind: SchemaObjectKind, ifExists: Bool = false, name: Identifier,
                at location: SourceLocation = .synthesized) {
        self.init(objectKind, ifExists: ifExists, names: [name], at: location)
    }

    public init(_ objectKind: SchemaObjectKind, ifExists: Bool = false, names: [Identifier],
                at location: SourceLocation = .synthesized) {
        precondition(!names.isEmpty, "DROP names at least one object")
        self.objectKind = objectKind
        self.ifExists = ifExists
        self.names = names
        self.location = location
    }
}

/// `TRUNCATE [TABLE] [ONLY] name [, name ...] [CONTINUE IDENTITY | RESTART IDENTITY] [RESTRICT]`:
/// deletes every row of the tables. MeshDB has no sequences, so the IDENTITY options change nothing.
public struct Truncate: Sendable, Hashable {
    /// At least one table, in the order written.
    public var tables: [Identifier]
    public var location: SourceLocation

    public init(tables: [Identifier], at location: SourceLocation = .synthesized) {
        precondition(!tables.isEmpty, "TRUNCATE names at least one table")
        self.tables = tables
        self.location = location
    }
}

/// `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table, ...]`, `VACUUM (option, ...) [table, ...]`
/// and `ANALYZE [VERBOSE] [table, ...]`. No tables means every table.
/// Session housekeeping that connection pools and drivers send (asyncpg releases a pooled
/// connection with `CLOSE ALL; UNLISTEN *; RESET ALL`, pgbouncer with `DISCARD ALL`, psycopg 3
/// rolls back with `DEALLOCATE ALL`). MeshDB has no SQL-level prepared statements, cursors or
/// LISTEN, so naming one that does not exist is an error and ALL has nothing to drop.
public struct SessionCommand: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `DEALLOCATE [PREPARE] name | ALL` (nil: ALL).
        case deallocate(Identifier?)
        /// `DISCARD ALL | PLANS | SEQUENCES | TEMP | TEMPORARY`.
        case discard(DiscardTarget)
        /// `CLOSE name | ALL` (nil: ALL).
        case close(Identifier?)
        /// `UNLISTEN channel | *` (nil: *).
        case unlisten(Identifier?)
    }

    public enum DiscardTarget: String, Sendable, Hashable {
        case all = "ALL", plans = "PLANS", sequences = "SEQUENCES", temporary = "TEMP"
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation = .synthesized) {
        self.kind = kind
        self.location = location
    }

    /// PostgreSQL's command tag.
    public var tag: String {
        switch kind {
        case .deallocate(let name): name == nil ? "DEALLOCATE ALL" : "DEALLOCATE"
        case .discard(let target): "DISCARD \(target.rawValue)"
        case .close(let name): name == nil ? "CLOSE CURSOR ALL" : "CLOSE CURSOR"
        case .unlisten: "UNLISTEN"
        }
    }
}

public struct Vacuum: Sendable, Hashable {
    /// False for a bare ANALYZE.
    public var vacuums: Bool
    /// ANALYZE, alone or as VACUUM's option.
    public var analyzes: Bool
    public var tables: [Identifier]
    public var location: SourceLocation

    public init(vacuums: Bool, analyzes: Bool, tables: [Identifier] = [], at location: SourceLocation = .synthesized) {
        self.vacuums = vacuums
        self.analyzes = analyzes
        self.tables = tables
        self.location = location
    }
}

/// `REINDEX [TABLE | INDEX] name`: rebuilds a table's indexes, or one index, on every shard.
/// Without TABLE or INDEX the name may be either (SQLite's form).
/// `CREATE USER name [WITH] PASSWORD 'p'`, `ALTER USER name [WITH] PASSWORD 'p'`,
/// `DROP USER [IF EXISTS] name`. The password is the client's cleartext; the gateway turns it
/// into a SCRAM-SHA-256 verifier before anything is stored or replicated.
public struct UserStatement: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case create(password: String)
        case alter(password: String)
        case drop(ifExists: Bool)
    }

    public var action: Action
    public var name: Identifier
    public var location: SourceLocation

    public init(_ action: Action, name: Identifier, at location: SourceLocation = .synthesized) {
        self.action = action
        self.name = name
        self.location = location
    }
}

public struct Reindex: Sendable, Hashable {
    public var objectKind: SchemaObjectKind?
    public var name: Identifier
    public var location: SourceLocation

    public init(_ objectKind: SchemaObjectKind? = nil, name: Identifier, at location: SourceLocation = .synthesized) {
        self.objectKind = objectKind
        self.name = name
        self.location = location
    }
}

public enum SchemaObjectKind: String, Sendable, Hashable {
    case table = "TABLE", index = "INDEX", view = "VIEW"
}

/// `ALTER TABLE name action`.
public struct AlterTable: Sendable, Hashable {
    public var table: Identifier
    public var action: AlterTableAction
    public var location: SourceLocation

    public init(table: Identifier, action: AlterTableAction, at location: SourceLocation = .synthesized) {
        self.table = table
        self.action = action
        self.location = location
    }
}

public enum AlterTableAction: Sendable, Hashable {
    /// `ADD [COLUMN] definition`
    case addColumn(ColumnDefinition)
    /// `ADD [CONSTRAINT name] PRIMARY KEY (columns)`
    case addPrimaryKey([IndexedColumn], name: Identifier?)
}

// MARK: - Session and transactions

/// `SET name = value[, value...]`, `SET name TO ...`, `SET name = DEFAULT`. Names may be dotted
/// (`mesh.read_consistency`) and are lower-cased like identifiers.
public struct SetVariable: Sendable, Hashable {
    public var name: String
    public var value: SettingValue
    public var location: SourceLocation

    public init(name: String, value: SettingValue, at location: SourceLocation = .synthesized) {
        self.name = name
        self.value = value
        self.location = location
    }
}

/// As PostgreSQL keeps a setting: text. Words, strings and numbers are all taken as written
/// (`SET x = on`, `SET x = 'on'` and `SET x = "on"` give "on"; `SET x = -1.5` gives "-1.5").
public enum SettingValue: Sendable, Hashable {
    case defaultValue
    case values([String])
}

/// `SHOW name` (`SHOW ALL` has the name "all").
public struct Show: Sendable, Hashable {
    public var name: String
    public var location: SourceLocation

    public init(name: String, at location: SourceLocation = .synthesized) {
        self.name = name
        self.location = location
    }
}

/// `EXPLAIN [ANALYZE] statement`.
public struct Explain: Sendable, Hashable {
    public var analyze: Bool
    public var statement: Statement
    public var location: SourceLocation

    public init(analyze: Bool = false, statement: Statement, at location: SourceLocation = .synthesized) {
        self.analyze = analyze
        self.statement = statement
        self.location = location
    }
}

/// BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK (each with optional WORK or TRANSACTION).
public struct TransactionStatement: Sendable, Hashable {
    public var kind: Kind
    public var location: SourceLocation

    public enum Kind: Sendable, Hashable {
        case begin, commit, rollback
    }

    public init(_ kind: Kind, at location: SourceLocation = .synthesized) {
        self.kind = kind
        self.location = location
    }
}
