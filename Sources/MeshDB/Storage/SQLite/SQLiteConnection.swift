import CSQLite

/// One SQLite connection with a cache of prepared statements. Not thread-safe by design: it is
/// owned by one store, which is owned by one thread or actor at a time (hence not Sendable).
/// Public for the SQL harnesses (Tests/SQLLogicTestKit), whose reference engine is a plain
/// in-memory SQLite opened through this same class.
public final class SQLiteConnection {
    /// What statements may do, enforced by SQLite's authorizer when they are prepared
    /// (sqlite3_set_authorizer). Statement text comes from clients; the store's own statements
    /// (BEGIN, COMMIT, PRAGMA, digest scans) run as `trusted`.
    public enum Access: Int, CaseIterable, Sendable {
        /// The store's own statements: anything.
        case trusted
        /// Statements of a batch: reads and writes of tables, DDL; never transaction control,
        /// ATTACH/DETACH or a PRAGMA beyond the read-only ones, which would let a batch escape its
        /// transaction or change the connection.
        case write
        /// Queries outside a batch: reads only.
        case readOnly
    }

    /// The result of running one statement to completion.
    public struct Outcome: Sendable {
        public var columns: [String]
        public var rows: [[SQLiteValue]]
        public var rowsChanged: Int
    }

    let path: String
    private(set) var handle: OpaquePointer?
    /// Prepared statements by access mode and text: authorization happens at prepare time, so a
    /// statement prepared for one mode is never reused in another.
    private var statementCache: [Access: [String: OpaquePointer]] = [:]
    private var statementCacheCount = 0
    /// Read by the authorizer callback through the context pointer.
    fileprivate var access = Access.trusted
    /// Longest statement text accepted.
    static let statementBytesMax = 1 << 20
    /// Most prepared statements kept; beyond it the cache is cleared (statement texts are
    /// usually a small fixed set, so a simple reset beats an LRU here).
    let statementCacheMax: Int

    /// Opens the database at `path`; `readOnly` opens an existing file without write access and
    /// with SQLite's defensive settings, for files that came from elsewhere (snapshots).
    public init(path: String, readOnly: Bool = false, statementCacheMax: Int = 256) throws(SQLiteError) {
        self.path = path
        self.statementCacheMax = statementCacheMax
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            sqlite3_close_v2(db)
            throw SQLiteError(extendedResultCode: code, message: "\(message): \(path)")
        }
        sqlite3_extended_result_codes(db, 1)
        handle = db
        sqlite3_set_authorizer(db, authorize, Unmanaged.passUnretained(self).toOpaque())
        if readOnly {
            try execute("PRAGMA query_only=ON; PRAGMA trusted_schema=OFF")
        }
    }

    deinit { close() }

    /// What stops this connection's running statement from another thread.
    public var interrupter: SQLiteInterrupter { SQLiteInterrupter(handle: handle) }

    public func close() {
        clearStatementCache()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    func clearStatementCache() {
        for statements in statementCache.values {
            for statement in statements.values { sqlite3_finalize(statement) }
        }
        statementCache.removeAll()
        statementCacheCount = 0
    }

    var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Runs SQL text that may hold several statements and takes no parameters (DDL, PRAGMA, BEGIN).
    func execute(_ sql: String) throws(SQLiteError) {
        let db = try open()
        access = .trusted
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errorMessage)
            throw SQLiteError(extendedResultCode: sqlite3_extended_errcode(db), message: message, sql: sql)
        }
    }

    /// A bound on the bytes of the values one statement collects, as `SQLiteValue.encodedByteCount`
    /// counts them, named as its error names it.
    struct ValueBytesLimit {
        let bytesMax: Int
        let name: String
    }

    /// Runs one statement with `parameters` bound to ?1, ?2, ... and collects at most `rowsMax` rows
    /// and at most `valueBytes.bytesMax` bytes of values: a larger result fails with SQLITE_TOOBIG
    /// as soon as it passes the bound, so no more than that is ever buffered.
    public func run(_ sql: String, _ parameters: [SQLiteValue] = [], access: Access = .trusted, rowsMax: Int = .max) throws(SQLiteError) -> Outcome {
        try run(sql, parameters, access: access, rowsMax: rowsMax, valueBytes: nil)
    }

    func run(_ sql: String, _ parameters: [SQLiteValue] = [], access: Access = .trusted, rowsMax: Int = .max,
             valueBytes: ValueBytesLimit?) throws(SQLiteError) -> Outcome {
        let (outcome, stepError) = try runUntilStepError(sql, parameters, access: access, rowsMax: rowsMax, valueBytes: valueBytes)
        if let stepError { throw stepError }
        return outcome
    }

    /// Runs one statement like `run`, except that an error while it runs (from sqlite3_step: an
    /// integer overflow in sum(), a constraint violation) ends the result instead of discarding
    /// it: the rows returned before the error come back with it. Errors before it runs (prepare,
    /// binding) and the limits still throw. The SQL harness's reference engine needs this to
    /// behave as sqllogictest's SQLite adapter, which ignores sqlite3_step's errors in queries.
    public func runUntilStepError(_ sql: String, _ parameters: [SQLiteValue] = [], access: Access = .trusted,
                                  rowsMax: Int = .max) throws(SQLiteError) -> (outcome: Outcome, stepError: SQLiteError?) {
        try runUntilStepError(sql, parameters, access: access, rowsMax: rowsMax, valueBytes: nil)
    }

    func runUntilStepError(_ sql: String, _ parameters: [SQLiteValue] = [], access: Access = .trusted,
                           rowsMax: Int = .max, valueBytes: ValueBytesLimit?) throws(SQLiteError) -> (outcome: Outcome, stepError: SQLiteError?) {
        let db = try open()
        let statement = try prepared(sql, access: access)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let parameterCount = Int(sqlite3_bind_parameter_count(statement))
        guard parameters.count == parameterCount else {
            throw SQLiteError(
                extendedResultCode: SQLITE_RANGE,
                message: "statement takes \(parameterCount) parameters, \(parameters.count) given", sql: sql)
        }
        for (index, value) in parameters.enumerated() {
            try bind(value, at: Int32(index + 1), in: statement, sql: sql)
        }
        // SQLite re-prepares a statement whose schema changed inside step(): authorize it the same way.
        self.access = access
        defer { self.access = .trusted }
        let columnCount = sqlite3_column_count(statement)
        let columns = (0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) }
        // sqlite3_changes keeps the count of the last INSERT/UPDATE/DELETE; the total moves only
        // when this statement changes rows, so DDL and queries report 0.
        let changesBefore = sqlite3_total_changes64(db)
        var rows: [[SQLiteValue]] = []
        var stepError: SQLiteError?
        var collectedBytes = 0
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                stepError = lastError(db, sql: sql)
                break
            }
            guard rows.count < rowsMax else {
                throw SQLiteError(
                    extendedResultCode: SQLITE_TOOBIG,
                    message: "result exceeds the limit of \(rowsMax) rows buffered per statement", sql: sql)
            }
            let row = (0..<columnCount).map { column(statement, $0) }
            if let valueBytes {
                collectedBytes += row.reduce(0) { $0 + $1.encodedByteCount }
                guard collectedBytes <= valueBytes.bytesMax else {
                    throw SQLiteError(
                        extendedResultCode: SQLITE_TOOBIG,
                        message: "result exceeds \(valueBytes.name) = \(valueBytes.bytesMax) bytes", sql: sql)
                }
            }
            rows.append(row)
        }
        let changed = sqlite3_total_changes64(db) == changesBefore ? 0 : Int(sqlite3_changes64(db))
        return (Outcome(columns: columns, rows: rows, rowsChanged: changed), stepError)
    }

    /// Calls `body` with each row in turn, without buffering them: for digests and exports.
    func forEachRow(_ sql: String, _ body: (OpaquePointer, Int32) -> Void) throws(SQLiteError) {
        let db = try open()
        let statement = try prepared(sql, access: .trusted)
        defer { sqlite3_reset(statement) }
        let columnCount = sqlite3_column_count(statement)
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw lastError(db, sql: sql) }
            body(statement, columnCount)
        }
    }

    func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let base = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let base = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        default:
            return .null
        }
    }

    /// The sqlite3 handle, or an error when the connection was closed.
    func openHandle() throws(SQLiteError) -> OpaquePointer { try open() }

    private func open() throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(extendedResultCode: SQLITE_MISUSE, message: "database is closed: \(path)")
        }
        return handle
    }

    private func prepared(_ sql: String, access: Access) throws(SQLiteError) -> OpaquePointer {
        if let statement = statementCache[access]?[sql] { return statement }
        let db = try open()
        guard sql.utf8.count <= Self.statementBytesMax else {
            throw SQLiteError(extendedResultCode: SQLITE_TOOBIG,
                              message: "statement of \(sql.utf8.count) bytes exceeds statement_bytes_max = \(Self.statementBytesMax)")
        }
        self.access = access
        defer { self.access = .trusted }
        // The tail pointer points into the C string, so everything that reads it happens while
        // that string is alive (a Swift String passed directly is a temporary, freed on return).
        enum Prepared {
            case statement(OpaquePointer)
            case failed(SQLiteError)
        }
        let prepared: Prepared = sql.withCString { text in
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
            guard code == SQLITE_OK else { return .failed(lastError(db, sql: sql)) }
            guard let statement else {
                return .failed(SQLiteError(extendedResultCode: SQLITE_MISUSE, message: "empty statement: no SQL to run", sql: sql))
            }
            // Only whitespace and comments may follow: they prepare to no statement at all.
            if let tail, tail.pointee != 0 {
                var next: OpaquePointer?
                let tailCode = sqlite3_prepare_v2(db, tail, -1, &next, nil)
                if tailCode != SQLITE_OK || next != nil {
                    sqlite3_finalize(next)
                    sqlite3_finalize(statement)
                    return .failed(SQLiteError(extendedResultCode: SQLITE_MISUSE,
                                               message: "one statement expected; found another after the first", sql: sql))
                }
            }
            return .statement(statement)
        }
        let statement: OpaquePointer
        switch prepared {
        case .statement(let prepared): statement = prepared
        case .failed(let error): throw error
        }
        if access == .readOnly, sqlite3_stmt_readonly(statement) == 0 {
            sqlite3_finalize(statement)
            throw SQLiteError(extendedResultCode: SQLITE_AUTH, message: "not authorized: a query must only read", sql: sql)
        }
        if statementCacheCount >= statementCacheMax { clearStatementCache() }
        statementCache[access, default: [:]][sql] = statement
        statementCacheCount += 1
        return statement
    }

    private func bind(_ value: SQLiteValue, at index: Int32, in statement: OpaquePointer, sql: String) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null:
            code = sqlite3_bind_null(statement, index)
        case .integer(let number):
            code = sqlite3_bind_int64(statement, index, number)
        case .real(let number):
            // SQLite would store NaN as NULL: a silent change of value.
            guard !number.isNaN else {
                throw SQLiteError(extendedResultCode: SQLITE_MISMATCH, message: "parameter \(index) is NaN, which SQLite cannot store", sql: sql)
            }
            code = sqlite3_bind_double(statement, index, number)
        case .text(let string):
            code = sqlite3_bind_text64(statement, index, string, UInt64(string.utf8.count),
                                       meshdb_sqlite_transient(), UInt8(SQLITE_UTF8))
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { raw in
                // A zero-length blob still needs a non-null pointer, or SQLite binds NULL.
                sqlite3_bind_blob64(statement, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                    UInt64(raw.count), meshdb_sqlite_transient())
            }
        }
        guard code == SQLITE_OK else { throw lastError(handle!, sql: sql) }
    }

    private func lastError(_ db: OpaquePointer, sql: String?) -> SQLiteError {
        SQLiteError(extendedResultCode: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }
}

/// PRAGMAs a client statement may run: they only read the schema.
private let readOnlyPragmas: Set<String> = [
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list", "table_list",
]

/// The authorizer (sqlite3_set_authorizer): consulted for each action while a statement is prepared.
private func authorize(
    context: UnsafeMutableRawPointer?, action: Int32,
    first: UnsafePointer<CChar>?, second: UnsafePointer<CChar>?,
    database: UnsafePointer<CChar>?, trigger: UnsafePointer<CChar>?
) -> Int32 {
    guard let context else { return SQLITE_DENY }
    let connection = Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue()
    switch connection.access {
    case .trusted:
        return SQLITE_OK
    case .write, .readOnly:
        switch action {
        case SQLITE_TRANSACTION, SQLITE_SAVEPOINT, SQLITE_ATTACH, SQLITE_DETACH:
            return SQLITE_DENY
        case SQLITE_PRAGMA:
            let name = first.map { String(cString: $0).lowercased() } ?? ""
            // A PRAGMA with an argument (second non-nil) sets something, except these which take a table name.
            if readOnlyPragmas.contains(name) { return SQLITE_OK }
            // ALTER TABLE … ADD COLUMN with a CHECK constraint checks the table's rows through
            // pragma_quick_check(table) (SQLite ≥ 3.37): read-only, and only in a batch's DDL.
            return name == "quick_check" && connection.access == .write ? SQLITE_OK : SQLITE_DENY
        case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE:
            return SQLITE_OK
        default:
            return connection.access == .write ? SQLITE_OK : SQLITE_DENY
        }
    }
}

/// Stops the statement a connection is running, from any thread (`sqlite3_interrupt`): the
/// statement fails with SQLITE_INTERRUPT at its next step. Used to end a canceled or timed-out
/// query that would otherwise keep a thread busy for as long as its SQL runs.
public struct SQLiteInterrupter: @unchecked Sendable {
    // @unchecked: it holds the connection's handle only to pass it to sqlite3_interrupt, which
    // SQLite documents as safe to call from any thread while the connection is open; callers use it
    // only while the statement they interrupt runs (`withTaskCancellationHandler` around the
    // query), during which the connection is open.
    let handle: OpaquePointer?

    public func interrupt() {
        if let handle { sqlite3_interrupt(handle) }
    }
}
