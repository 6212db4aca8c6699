import CSQLite

/// A failure reported by SQLite, keeping its result codes and message so callers can map them
/// (a constraint violation becomes SQLSTATE 23505 on the wire, a full disk 53100, and so on).
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The primary result code (SQLITE_CONSTRAINT = 19, SQLITE_BUSY = 5, ...).
    public var resultCode: Int32 { extendedResultCode & 0xFF }
    /// The extended result code (SQLITE_CONSTRAINT_UNIQUE = 2067, ...).
    public let extendedResultCode: Int32
    public let message: String
    /// The statement that failed, when there was one.
    public let sql: String?

    public init(extendedResultCode: Int32, message: String, sql: String? = nil) {
        self.extendedResultCode = extendedResultCode
        self.message = message
        self.sql = sql
    }

    public var isConstraintViolation: Bool { resultCode == SQLITE_CONSTRAINT }

    public var description: String {
        let name = String(cString: sqlite3_errstr(extendedResultCode))
        var text = "SQLite error \(resultCode)/\(extendedResultCode) (\(name)): \(message)"
        if let sql { text += " in statement: \(sql.prefix(200))" }
        return text
    }
}
