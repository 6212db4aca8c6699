import CSQLite
import MeshDB

/// Plain SQLite in memory, opened through MeshDB's own `SQLiteConnection`: the reference every
/// other engine is judged against. It passes select1–5 and evidence/ completely (bar the records
/// for other engines), which is what shows the runner itself is right.
///
/// An actor because the connection is not thread-safe: the actor owns it.
public actor SQLiteReferenceEngine: SQLTestEngine {
    public nonisolated let name = "sqlite"
    /// Whether a query that fails while it runs returns the rows before the failure instead of
    /// the error: what sqllogictest's SQLite adapter does (slt_sqlite.c stops reading rows at
    /// the first sqlite3_step that returns no row, error or not), so what the corpus expects:
    /// evidence/slt_lang_aggfunc.test expects no rows from a sum() that overflows. Scripts run
    /// with it; the differential tester runs without, since it must see every error.
    public nonisolated let endsQueriesAtStepErrors: Bool
    private let connection: SQLiteConnection

    /// Prepared statements kept: scripts rarely repeat a statement, so a small cache suffices.
    static let statementCacheMax = 32

    public init(endsQueriesAtStepErrors: Bool = false) throws {
        self.endsQueriesAtStepErrors = endsQueriesAtStepErrors
        connection = try SQLiteConnection(path: ":memory:", statementCacheMax: Self.statementCacheMax)
    }

    /// Runs every statement in `sql` in turn (a record may hold several, as the reference's
    /// sqlite3_exec allows, and so does MeshDB's session) and returns the last one's outcome.
    public func execute(_ sql: String) throws -> SQLTestOutcome {
        var last = SQLTestOutcome.rowsChanged(0)
        for statement in Self.statements(in: sql) {
            let (outcome, stepError) = try connection.runUntilStepError(statement)
            // A statement with result columns is a query even when it returns no rows.
            let isQuery = !outcome.columns.isEmpty
            if let stepError, !(isQuery && endsQueriesAtStepErrors) { throw stepError }
            last = isQuery ? .rows(columns: outcome.columns, rows: outcome.rows) : .rowsChanged(outcome.rowsChanged)
        }
        return last
    }

    /// The statements in `sql`, split where SQLite's own tokenizer ends one (sqlite3_complete),
    /// so a ';' inside a literal, a quoted name or a trigger body does not split. Empty
    /// statements (";;") are dropped; text after the last ';' is a statement of its own.
    static func statements(in sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        func add(_ end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if text.contains(where: { !$0.isWhitespace && $0 != ";" }) { statements.append(text) }
        }
        for index in bytes.indices where bytes[index] == UInt8(ascii: ";") {
            if sqlite3_complete(String(decoding: bytes[start...index], as: UTF8.self)) != 0 {
                add(index + 1)
                start = index + 1
            }
        }
        add(bytes.count)
        return statements
    }
}
