import CSQLite
import Crypto

extension SQLiteConnection {
    /// A SHA-256 over the logical contents of the database; see `ShardStore.logicalDigest()`.
    ///
    /// - Schema: every `sqlite_schema` entry (type, name, table, SQL) by type and name, except
    ///   SQLite's internal objects (names starting exactly with `sqlite_`).
    /// - `sqlite_sequence` (AUTOINCREMENT counters), by name: it decides the next ids.
    /// - Every table by name: a rowid table's rows by rowid, rowid included (it is observable,
    ///   and decides where later rows go); a WITHOUT ROWID table's rows by primary key, which is
    ///   unique, so the order is total either way and never depends on the page layout.
    /// - Values: a type tag, then 8 big-endian bytes (integer, IEEE-754 bits) or a 4-byte length
    ///   and the raw bytes (text as stored, never re-decoded, so invalid UTF-8 stays distinct; blob).
    func logicalDigest() throws(SQLiteError) -> [UInt8] {
        var hasher = SHA256()
        let schema = try run(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name")
        for entry in schema.rows {
            hasher.update(tag: 0x10)
            for value in entry { hasher.update(value) }
        }
        let hasSequence = try !run("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").rows.isEmpty
        if hasSequence {
            hasher.update(tag: 0x18)
            try forEachRow("SELECT name, seq FROM sqlite_sequence ORDER BY name") { statement, columns in
                hasher.update(statement: statement, columns: columns)
            }
        }
        let tables = try run("SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        for table in tables.rows {
            guard case .text(let name) = table[0] else { continue }
            let withoutRowID = table[1] == .integer(1)
            let quoted = quoteIdentifier(name)
            let sql = withoutRowID
                ? "SELECT * FROM \(quoted) ORDER BY \(try primaryKeyOrder(of: name))"
                : "SELECT rowid, * FROM \(quoted) ORDER BY rowid"
            hasher.update(tag: 0x20)
            hasher.update(.text(name))
            var rowCount: Int64 = 0
            try forEachRow(sql) { statement, columns in
                hasher.update(statement: statement, columns: columns)
                rowCount += 1
            }
            hasher.update(tag: 0x21)
            hasher.update(.integer(rowCount))
        }
        return Array(hasher.finalize())
    }

    private func primaryKeyOrder(of table: String) throws(SQLiteError) -> String {
        let info = try run("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk", [.text(table)])
        let keys = info.rows.compactMap { row -> String? in
            guard case .text(let name) = row[0] else { return nil }
            return quoteIdentifier(name)
        }
        precondition(!keys.isEmpty, "SQLite requires a primary key on a WITHOUT ROWID table")
        return keys.joined(separator: ", ")
    }
}

func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension SHA256 {
    fileprivate mutating func update(tag: UInt8) { update(data: [tag]) }

    fileprivate mutating func update(length: Int) {
        update(data: (0..<4).map { UInt8(truncatingIfNeeded: UInt32(length) >> (24 - 8 * $0)) })
    }

    fileprivate mutating func update(bigEndian number: UInt64) {
        update(data: (0..<8).map { UInt8(truncatingIfNeeded: number >> (56 - 8 * $0)) })
    }

    fileprivate mutating func update(_ value: SQLiteValue) {
        switch value {
        case .null:
            update(tag: 0)
        case .integer(let number):
            update(tag: 1)
            update(bigEndian: UInt64(bitPattern: number))
        case .real(let number):
            update(tag: 2)
            update(bigEndian: number.bitPattern)
        case .text(let string):
            let bytes = Array(string.utf8)
            update(tag: 3)
            update(length: bytes.count)
            update(data: bytes)
        case .blob(let bytes):
            update(tag: 4)
            update(length: bytes.count)
            update(data: bytes)
        }
    }

    /// The current row of `statement`, reading text and blobs as the raw bytes SQLite holds.
    fileprivate mutating func update(statement: OpaquePointer, columns: Int32) {
        for index in 0..<columns {
            switch sqlite3_column_type(statement, index) {
            case SQLITE_INTEGER:
                update(.integer(sqlite3_column_int64(statement, index)))
            case SQLITE_FLOAT:
                update(.real(sqlite3_column_double(statement, index)))
            case SQLITE_TEXT, SQLITE_BLOB:
                let isText = sqlite3_column_type(statement, index) == SQLITE_TEXT
                let base = isText ? UnsafeRawPointer(sqlite3_column_text(statement, index)) : sqlite3_column_blob(statement, index)
                let count = Int(sqlite3_column_bytes(statement, index))
                update(tag: isText ? 3 : 4)
                update(length: count)
                if count > 0, let base { update(bufferPointer: UnsafeRawBufferPointer(start: base, count: count)) }
            default:
                update(tag: 0)
            }
        }
    }
}
