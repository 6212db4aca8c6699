import CSQLite

/// The gateway's own SQLite engine for one statement: an in-memory database into which the
/// executor loads rows gathered from shards, and in which it runs the part of a plan that needs
/// all of them at once (a join across shards, the final phase of a two-phase aggregate, a merge
/// of DISTINCT results). Running that part on SQLite, the engine every shard runs, is what keeps
/// a distributed result equal to a single-database one: same comparisons, same affinities, same
/// arithmetic.
///
/// Thrown away after the statement. The statements it runs come from client SQL (rendered by the
/// planner), so they run with the read-only authorizer: no ATTACH of files on the gateway's host,
/// no PRAGMA that changes anything.
///
/// Memory: every loaded value is counted against `bytesMax` (the session's `work_mem`); going
/// over stops the statement with 53200 naming the limit, before the rows are kept.
final class ScratchDatabase {
    private let connection: SQLiteConnection
    let bytesMax: Int
    private(set) var bytesLoaded = 0

    init(bytesMax: Int) throws(SQLiteError) {
        connection = try SQLiteConnection(path: ":memory:", statementCacheMax: 64)
        self.bytesMax = bytesMax
    }

    /// Creates `name` with `columns` (name, SQLite declared type): the declared types give the
    /// columns the same affinities as on the shards.
    func createTable(_ name: String, columns: [(name: String, declaredType: String)]) throws(SQLiteError) {
        let list = columns.map { "\(quoteIdentifier($0.name)) \($0.declaredType)" }.joined(separator: ", ")
        try connection.execute("CREATE TABLE \(quoteIdentifier(name)) (\(list))")
    }

    /// Makes the PostgreSQL functions of `functions` callable by the statement.
    func install(_ functions: PostgresFunctions) throws(SQLiteError) {
        try functions.install(on: connection)
    }

    /// Runs trusted DDL the planner produced (a view definition, for instance).
    func define(_ sql: String) throws(SQLiteError) {
        _ = try connection.run(sql, access: .write)
    }

    /// Appends `rows` to `table` in one transaction, counting their size against `bytesMax`.
    /// With `leadingRowID`, each row's first value is its rowid and the rest fill `columns`.
    func insert(into table: String, columns: [String], leadingRowID: Bool = false, rows: [[SQLiteValue]]) throws(ScratchError) {
        guard !rows.isEmpty else { return }
        var size = 0
        for row in rows { size += row.reduce(16) { $0 + $1.approximateSize } }
        guard bytesLoaded + size <= bytesMax else {
            throw .memoryLimit(bytesMax)
        }
        bytesLoaded += size
        let names = (leadingRowID ? ["rowid"] : []) + columns.map(quoteIdentifier)
        let placeholders = (1...max(names.count, 1)).map { "?\($0)" }.joined(separator: ", ")
        let sql = "INSERT INTO \(quoteIdentifier(table)) (\(names.joined(separator: ", "))) VALUES (\(placeholders))"
        do {
            try connection.execute("BEGIN")
            for row in rows { _ = try connection.run(sql, row) }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw .sqlite(error)
        }
    }

    /// Stops the statement `query` is running (from another thread).
    var interrupter: SQLiteInterrupter { connection.interrupter }

    /// Runs one statement of client origin (read-only) and returns its rows.
    func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(ScratchError) -> (columns: [String], rows: [[SQLiteValue]]) {
        do {
            let outcome = try connection.run(sql, parameters, access: .readOnly)
            return (outcome.columns, outcome.rows)
        } catch {
            throw .sqlite(error)
        }
    }

    /// Runs one statement with `parameters` that may change the scratch tables (an INSERT
    /// evaluating a row): the write authorizer, so still no ATTACH or PRAGMA.
    func evaluate(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> (columns: [String], rows: [[SQLiteValue]]) {
        let outcome = try connection.run(sql, parameters, access: .write)
        return (outcome.columns, outcome.rows)
    }
}

enum ScratchError: Error {
    case memoryLimit(Int)
    case sqlite(SQLiteError)
}

extension SQLiteValue {
    /// Bytes this value takes in memory, roughly: what the per-query memory limit counts.
    var approximateSize: Int {
        switch self {
        case .null: 1
        case .integer, .real: 8
        case .text(let text): 16 + text.utf8.count
        case .blob(let bytes): 16 + bytes.count
        }
    }
}
