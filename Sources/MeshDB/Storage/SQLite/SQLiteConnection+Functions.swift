import CSQLite

/// A scalar SQL function written in Swift, as `SQLiteConnection.register` installs it. It
/// throws `SQLiteFunctionError` to fail the statement with a message.
typealias SQLiteFunctionBody = ([SQLiteValue]) throws(SQLiteFunctionError) -> SQLiteValue

/// A Swift function's failure: the statement fails with SQLITE_ERROR and this message.
struct SQLiteFunctionError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The closure behind one registered function, kept alive by SQLite (released by its destroy
/// callback when the function is replaced or the connection closes).
private final class SQLiteFunctionBox {
    let body: SQLiteFunctionBody
    init(_ body: @escaping SQLiteFunctionBody) { self.body = body }
}

extension SQLiteConnection {
    /// Installs `body` as the SQL function `name` taking `argumentCount` arguments (-1: any
    /// number). Used by the gateway's scratch database only: the shards never get Swift
    /// functions, so the statements they run stay plain SQLite everywhere.
    func register(function name: String, argumentCount: Int32, deterministic: Bool = true,
                  _ body: @escaping SQLiteFunctionBody) throws(SQLiteError) {
        let db = try openHandle()
        let box = Unmanaged.passRetained(SQLiteFunctionBox(body)).toOpaque()
        let flags = SQLITE_UTF8 | (deterministic ? SQLITE_DETERMINISTIC : 0)
        let code = sqlite3_create_function_v2(db, name, argumentCount, flags, box, { context, count, values in
            guard let context else { return }
            let box = Unmanaged<SQLiteFunctionBox>.fromOpaque(sqlite3_user_data(context)).takeUnretainedValue()
            var arguments: [SQLiteValue] = []
            arguments.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                arguments.append(SQLiteConnection.value(values.flatMap { $0[index] }))
            }
            switch Result(catching: { () throws(SQLiteFunctionError) -> SQLiteValue in try box.body(arguments) }) {
            case .success(let result): SQLiteConnection.setResult(result, context: context)
            case .failure(let error): sqlite3_result_error(context, error.message, -1)
            }
        }, nil, nil, { pointer in
            guard let pointer else { return }
            Unmanaged<SQLiteFunctionBox>.fromOpaque(pointer).release()
        })
        guard code == SQLITE_OK else {
            throw SQLiteError(extendedResultCode: code, message: "cannot register function \(name): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    fileprivate static func value(_ value: OpaquePointer?) -> SQLiteValue {
        guard let value else { return .null }
        switch sqlite3_value_type(value) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_value_int64(value))
        case SQLITE_FLOAT:
            return .real(sqlite3_value_double(value))
        case SQLITE_TEXT:
            let count = Int(sqlite3_value_bytes(value))
            guard let base = sqlite3_value_text(value) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_value_bytes(value))
            guard count > 0, let base = sqlite3_value_blob(value) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        default:
            return .null
        }
    }

    fileprivate static func setResult(_ value: SQLiteValue, context: OpaquePointer) {
        switch value {
        case .null:
            sqlite3_result_null(context)
        case .integer(let number):
            sqlite3_result_int64(context, number)
        case .real(let number):
            sqlite3_result_double(context, number)
        case .text(let string):
            sqlite3_result_text64(context, string, UInt64(string.utf8.count), meshdb_sqlite_transient(), UInt8(SQLITE_UTF8))
        case .blob(let bytes):
            bytes.withUnsafeBytes { raw in
                sqlite3_result_blob64(context, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(raw.count),
                                      meshdb_sqlite_transient())
            }
        }
    }
}
