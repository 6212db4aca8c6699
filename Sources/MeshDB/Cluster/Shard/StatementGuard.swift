/// Which statements a faulty client may not send to a shard, decided from the leading keywords
/// before SQLite sees them. Transaction control (BEGIN, COMMIT, SAVEPOINT...) would break the
/// one-transaction-per-write rule; ATTACH, DETACH, VACUUM INTO and PRAGMA reach files and
/// connection settings outside the shard; TEMP objects live on one replica's connection and are
/// neither digested nor snapshotted, so replicas would diverge after a state transfer.
enum StatementGuard {
    /// Statement kinds a write batch may hold.
    static let writeKeywords: Set<String> = ["INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES",
                                             "CREATE", "DROP", "ALTER"]

    /// Nil when `sql` may run inside a write batch, else why not.
    static func refusalForWrite(_ sql: String) -> String? {
        if let refusal = refusalOfText(sql) { return refusal }
        let words = leadingKeywords(sql, count: 2)
        guard let first = words.first else { return "a statement must start with a keyword" }
        guard writeKeywords.contains(first) else { return "\(first) statements are not allowed in a shard write" }
        if first == "CREATE", let second = words.dropFirst().first, second == "TEMP" || second == "TEMPORARY" {
            return "temporary objects are not allowed in a shard (they are not replicated)"
        }
        return nil
    }

    /// Nil when `sql` is a SELECT, the only statement a read runs. WITH is refused too: a common
    /// table expression may lead into a DELETE or UPDATE.
    static func refusalForRead(_ sql: String) -> String? {
        if let refusal = refusalOfText(sql) { return refusal }
        guard let first = leadingKeywords(sql, count: 1).first else { return "a statement must start with a keyword" }
        return first == "SELECT" ? nil : "a read runs one SELECT statement, not \(first)"
    }

    /// One statement per entry, and no NUL byte (SQLite would silently stop reading there).
    /// Checked here, before SQLite prepares the text, because SQLiteConnection reads the text
    /// after a first statement through a pointer into a temporary C string that is already freed
    /// (a crash any client could trigger on every replica). Text after the final semicolon is
    /// refused for that reason, even when it is only a comment. A CREATE TRIGGER body holds
    /// semicolons and is refused too, for now.
    static func refusalOfText(_ sql: String) -> String? {
        let bytes = Array(sql.utf8)
        if bytes.contains(0) { return "SQL text contains a NUL byte" }
        var index = 0
        func skip(toClosing close: UInt8, doubledEscapes: Bool) {
            index += 1
            while index < bytes.count {
                if bytes[index] == close {
                    if doubledEscapes, index + 1 < bytes.count, bytes[index + 1] == close {
                        index += 2
                        continue
                    }
                    index += 1
                    return
                }
                index += 1
            }
        }
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "'"): skip(toClosing: UInt8(ascii: "'"), doubledEscapes: true)
            case UInt8(ascii: "\""): skip(toClosing: UInt8(ascii: "\""), doubledEscapes: true)
            case UInt8(ascii: "`"): skip(toClosing: UInt8(ascii: "`"), doubledEscapes: true)
            case UInt8(ascii: "["): skip(toClosing: UInt8(ascii: "]"), doubledEscapes: false)
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index < bytes.count, !(bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count
                    && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            case UInt8(ascii: ";"):
                return index + 1 < bytes.count ? "one statement per entry: nothing may follow a semicolon" : nil
            default:
                index += 1
            }
        }
        return nil
    }

    /// The first `count` words, uppercased, after whitespace and SQL comments (`--` to end of line,
    /// `/* */`). Stops at the first character that is not a letter: enough to classify a statement.
    static func leadingKeywords(_ sql: String, count: Int) -> [String] {
        let bytes = Array(sql.utf8)
        var index = 0
        var words: [String] = []
        while words.count < count, index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") || byte == 0x0C {
                index += 1
            } else if byte == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                index += 2
                while index < bytes.count, !(bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count
                    && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            } else if isLetter(byte) {
                let start = index
                while index < bytes.count, isLetter(bytes[index]) { index += 1 }
                words.append(String(decoding: bytes[start..<index], as: UTF8.self).uppercased())
            } else {
                break
            }
        }
        return words
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
