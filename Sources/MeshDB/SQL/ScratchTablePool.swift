import Synchronization

/// Scratch copies of tables kept between INSERTs (`WriteExecutor.insert` evaluates every row in
/// one first). Opening an in-memory SQLite database and parsing the table's CREATE TABLE for
/// every single-row INSERT was 14% of the CPU of pgbench's write script on the demo; a copy taken
/// from here already holds the table, and its prepared statements.
///
/// A copy is keyed by the table's name and its exact scratch DDL, so a table changed by ALTER
/// TABLE gets new copies and never an old one (the old ones are dropped). A copy is handed out
/// to one INSERT at a time, for the evaluation of its rows only, and comes back empty
/// (`giveBack` deletes its rows, after a failed INSERT too: the write authorizer lets no
/// transaction stay open), or is dropped when it held many rows. INSERTs cannot call the
/// functions that would show a copy's history (`WriteExecutor.refuseConnectionStateFunctions`).
/// Limits: `idlePerTableMax` idle copies per table and `tablesMax` tables; past the
/// latter the pool starts afresh.
final class ScratchTablePool: Sendable {
    /// One scratch copy of one table, with the name of the table it holds.
    final class Copy: @unchecked Sendable {
        // @unchecked: the database is not thread-safe, and is used by one owner at a time. The
        // pool hands a copy out under its lock and forgets it until `giveBack` (which takes it
        // back under the lock); the INSERT holding it uses it only within its own task, never
        // concurrently. No other reference to a copy escapes.
        let database: ScratchDatabase
        let key: Key

        fileprivate init(database: ScratchDatabase, key: Key) {
            self.database = database
            self.key = key
        }
    }

    struct Key: Hashable, Sendable {
        let table: String
        let ddl: [String]
    }

    static let idlePerTableMax = 8
    static let tablesMax = 64

    private let idle = Mutex<[Key: [Copy]]>([:])

    /// A copy of `table` defined by `ddl`, empty: an idle one, or a new one.
    func take(table: String, ddl: [String]) throws(SQLiteError) -> Copy {
        let key = Key(table: table, ddl: ddl)
        let reused: Copy? = idle.withLock { idle in
            if let copy = idle[key]?.popLast() { return copy }
            // Copies of an earlier definition of the table will not be asked for again.
            idle = idle.filter { $0.key.table != table || $0.key == key }
            return nil
        }
        if let reused { return reused }
        // The rows an INSERT evaluates are bounded by the statement's own limits, not by
        // work_mem (`ScratchDatabase.insert`, which counts it, is not used here), so one size
        // serves every session; `giveBack` keeps only copies that stayed small.
        let database = try ScratchDatabase(bytesMax: Int.max)
        for statement in ddl { try database.define(statement) }
        return Copy(database: database, key: key)
    }

    /// Empties `copy` and keeps it for the next INSERT into the same table; drops it when it held
    /// more than a small INSERT's rows (`reusable` false: SQLite keeps an in-memory database's
    /// pages after DELETE), when it cannot be emptied, or when enough copies are idle already.
    func giveBack(_ copy: Copy, reusable: Bool = true) {
        guard reusable else { return }
        do {
            _ = try copy.database.evaluate("DELETE FROM \(quoteIdentifier(copy.key.table))")
        } catch {
            return
        }
        idle.withLock { idle in
            if idle[copy.key] == nil, idle.count >= Self.tablesMax { idle.removeAll() }
            guard idle[copy.key, default: []].count < Self.idlePerTableMax else { return }
            idle[copy.key, default: []].append(copy)
        }
    }

    /// Whether the rows a copy evaluated leave it small enough to keep: at most `rowsKeptMax`
    /// rows and `bytesKeptMax` bytes of values.
    static func isSmall(_ rows: [[SQLiteValue]]) -> Bool {
        guard rows.count <= rowsKeptMax else { return false }
        var bytes = 0
        for row in rows { for value in row { bytes += value.approximateSize } }
        return bytes <= bytesKeptMax
    }

    static let rowsKeptMax = 64
    static let bytesKeptMax = 256 << 10

    /// Idle copies of `table`, for tests.
    func idleCount(table: String) -> Int {
        idle.withLock { idle in idle.filter { $0.key.table == table }.reduce(0) { $0 + $1.value.count } }
    }
}
