/// Why a shard-store operation failed. SQLite's result code and message are kept whole.
public enum ShardStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Statement `index` (0-based) of a batch failed; the whole batch was rolled back.
    case statementFailed(index: Int, SQLiteError)
    /// SQLite failed outside a batch statement (open, BEGIN, COMMIT, query, digest).
    case sqlite(SQLiteError)
    /// A configured limit was hit; the message names it.
    case limitExceeded(String)
    case snapshotFailed(String)

    public var description: String {
        switch self {
        case .statementFailed(let index, let error):
            "batch rolled back: statement \(index) failed: \(error)"
        case .sqlite(let error):
            error.description
        case .limitExceeded(let message):
            "limit exceeded: \(message)"
        case .snapshotFailed(let message):
            "snapshot failed: \(message)"
        }
    }

    /// The SQLite error underneath, when there is one.
    public var sqliteError: SQLiteError? {
        switch self {
        case .statementFailed(_, let error), .sqlite(let error): error
        case .limitExceeded, .snapshotFailed: nil
        }
    }
}
