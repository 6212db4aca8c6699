/// psql's prompt (`%/%R%x%# `): the database, what the scanner waits for (`=` a new statement, `-`
/// a continued one, `'` inside a string, ...), the transaction status the server last reported
/// (nothing when idle, `*` inside a block, `!` in a failed block) and `>`.
public enum Prompt {
    /// ReadyForQuery's transaction status byte.
    public enum TransactionStatus: Character, Sendable, Equatable {
        case idle = "I"
        case inTransaction = "T"
        case failed = "E"
    }

    public static func render(database: String, continuation: InputScanner.Continuation,
                              transaction: TransactionStatus?) -> String {
        let marker: String
        switch transaction {
        case .inTransaction: marker = "*"
        case .failed: marker = "!"
        case .idle, nil: marker = ""
        }
        return "\(database)\(continuation.rawValue)\(marker)> "
    }
}
