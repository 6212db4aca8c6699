/// Which statements a faulty client may not send to a shard, decided from the SQL text before
/// SQLite sees it. A lexer that knows SQLite's quoting rules finds the words outside string
/// literals, quoted identifiers and comments; that is enough to classify a statement.
///
/// - Transaction control (BEGIN, COMMIT, SAVEPOINT...) would break the one-transaction-per-write
///   rule; ATTACH, DETACH, VACUUM and PRAGMA reach files and settings outside the shard; TEMP
///   objects live on one replica's connection and are neither digested nor snapshotted.
/// - Functions whose value differs per replica (random(), the current time, the connection's
///   last_insert_rowid()...) would make replicas store different rows (DESIGN.md: such values
///   are evaluated once at the gateway and travel as literals). The check is lexical, so a
///   column named like one of them must be double-quoted.
enum StatementGuard {
    /// Statement kinds a write batch may hold.
    static let writeKeywords: Set<String> = ["INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES",
                                             "CREATE", "DROP", "ALTER", "REINDEX"]
    /// Words that name a value that differs between replicas or between runs.
    static let nondeterministicWords: Set<String> = ["RANDOM", "RANDOMBLOB", "CURRENT_TIME", "CURRENT_DATE",
                                                     "CURRENT_TIMESTAMP", "LAST_INSERT_ROWID", "CHANGES", "TOTAL_CHANGES"]
    /// Date functions that read the clock when called without arguments.
    static let clockFunctions: Set<String> = ["DATE", "TIME", "DATETIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME", "TIMEDIFF"]

    /// Nil when `sql` may run inside a write batch (or createShard's DDL), else why not.
    static func refusalForWrite(_ sql: String) -> String? {
        let tokens: [Token]
        switch tokenize(sql) {
        case .failure(let refusal): return refusal.reason
        case .success(let lexed): tokens = lexed
        }
        guard case .word(let first) = tokens.first else { return "a statement must start with a keyword" }
        guard writeKeywords.contains(first) else { return "\(first) statements are not allowed in a shard write" }
        if first == "CREATE", tokens.count > 1, tokens[1] == .word("TEMP") || tokens[1] == .word("TEMPORARY") {
            return "temporary objects are not allowed in a shard (they are not replicated)"
        }
        for (index, token) in tokens.enumerated() {
            // temp.t names the connection's temporary schema, like CREATE TEMP.
            if index + 1 < tokens.count, tokens[index + 1] == .other(UInt8(ascii: ".")), isTempSchema(token) {
                return "the temp schema is not allowed in a shard (it is not replicated)"
            }
            switch token {
            case .word(let word) where nondeterministicWords.contains(word):
                return "\(word.lowercased()) differs between replicas; evaluate it at the gateway and send the value"
            case .word(let word) where clockFunctions.contains(word):
                if index + 2 < tokens.count, tokens[index + 1] == .other(UInt8(ascii: "(")), tokens[index + 2] == .other(UInt8(ascii: ")")) {
                    return "\(word.lowercased())() reads the clock; evaluate it at the gateway and send the value"
                }
            case .string(let text) where text.lowercased() == "now":
                return "'now' reads the clock; evaluate it at the gateway and send the value"
            default:
                if let refusal = pragmaRefusal(token) { return refusal }
            }
        }
        return nil
    }

    /// A PRAGMA table-valued function (`pragma_quick_check`, `"pragma_integrity_check"`): a
    /// client's statement may not run one. It scans the whole shard on every replica (and at
    /// every replay of the log), and its answer depends on the replica's file rather than on the
    /// ordered state. The authorizer allows quick_check in a batch only for SQLite's own check
    /// of the rows in ALTER TABLE … ADD COLUMN with a CHECK.
    private static func pragmaRefusal(_ token: Token) -> String? {
        let name = switch token {
        case .word(let word): word
        case .quotedIdentifier(let identifier): identifier.uppercased()
        default: ""
        }
        return name.hasPrefix("PRAGMA_") ? "\(name.lowercased()) is not allowed in a shard statement" : nil
    }

    private static func isTempSchema(_ token: Token) -> Bool {
        switch token {
        case .word(let word): word == "TEMP" || word == "TEMPORARY"
        case .quotedIdentifier(let name): ["TEMP", "TEMPORARY"].contains(name.uppercased())
        default: false
        }
    }

    /// Nil when `sql` is a SELECT, the only statement a read runs. WITH is refused too: a common
    /// table expression may lead into a DELETE or UPDATE.
    static func refusalForRead(_ sql: String) -> String? {
        switch tokenize(sql) {
        case .failure(let refusal): return refusal.reason
        case .success(let tokens):
            guard case .word(let first) = tokens.first else { return "a statement must start with a keyword" }
            guard first == "SELECT" else { return "a read runs one SELECT statement, not \(first)" }
            return tokens.lazy.compactMap(pragmaRefusal).first
        }
    }

    /// The first `count` words, uppercased: for tests and messages.
    static func leadingKeywords(_ sql: String, count: Int) -> [String] {
        guard case .success(let tokens) = tokenize(sql) else { return [] }
        var words: [String] = []
        for token in tokens.prefix(count) {
            guard case .word(let word) = token else { break }
            words.append(word)
        }
        return words
    }

    enum Token: Hashable {
        /// A bare word, uppercased (keyword, function or unquoted identifier).
        case word(String)
        /// The contents of a '...' literal, quotes undoubled.
        case string(String)
        /// The contents of a "...", `...` or [...] identifier: never a keyword.
        case quotedIdentifier(String)
        case other(UInt8)
    }

    struct Refusal: Error {
        let reason: String
    }

    /// Splits `sql` into tokens, skipping whitespace and comments. Refuses a NUL byte (SQLite
    /// would silently stop reading there) and anything after a semicolon: one statement per
    /// entry. The latter is checked here, before SQLite prepares the text, because
    /// SQLiteConnection reads the text after a first statement through a pointer into a
    /// temporary C string that is already freed: a crash any client could trigger on every
    /// replica. Text after the final semicolon is refused even when it is only a comment, and a
    /// CREATE TRIGGER body (which holds semicolons) is refused too, for now.
    static func tokenize(_ sql: String) -> Result<[Token], Refusal> {
        let bytes = Array(sql.utf8)
        if bytes.contains(0) { return .failure(Refusal(reason: "SQL text contains a NUL byte")) }
        var tokens: [Token] = []
        var index = 0
        /// Moves past a quoted run that ends at `close`; a doubled `close` stands for itself.
        func quoted(close: UInt8, doubledEscapes: Bool) -> [UInt8] {
            var content: [UInt8] = []
            index += 1
            while index < bytes.count {
                if bytes[index] == close {
                    if doubledEscapes, index + 1 < bytes.count, bytes[index + 1] == close {
                        content.append(close)
                        index += 2
                        continue
                    }
                    index += 1
                    return content
                }
                content.append(bytes[index])
                index += 1
            }
            return content
        }
        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0C:
                index += 1
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                index += 2
                while index < bytes.count, !(bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count
                    && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            case UInt8(ascii: "'"):
                tokens.append(.string(String(decoding: quoted(close: UInt8(ascii: "'"), doubledEscapes: true), as: UTF8.self)))
            case UInt8(ascii: "\""), UInt8(ascii: "`"):
                tokens.append(.quotedIdentifier(String(decoding: quoted(close: byte, doubledEscapes: true), as: UTF8.self)))
            case UInt8(ascii: "["):
                tokens.append(.quotedIdentifier(String(decoding: quoted(close: UInt8(ascii: "]"), doubledEscapes: false), as: UTF8.self)))
            case UInt8(ascii: ";"):
                guard index + 1 == bytes.count else {
                    return .failure(Refusal(reason: "one statement per entry: nothing may follow a semicolon"))
                }
                index += 1
            case _ where isWordByte(byte):
                let start = index
                while index < bytes.count, isWordByte(bytes[index]) { index += 1 }
                tokens.append(.word(String(decoding: bytes[start..<index], as: UTF8.self).uppercased()))
            default:
                tokens.append(.other(byte))
                index += 1
            }
        }
        return .success(tokens)
    }

    /// Letters, digits, underscore, `$` and any non-ASCII byte, as in SQLite's identifiers.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "$") || byte >= 0x80
    }
}
