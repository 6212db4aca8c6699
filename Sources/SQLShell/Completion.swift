/// Tab completion for `meshdb sql`: backslash commands at the start of a command, table names where
/// a table goes (after FROM, JOIN, INTO, UPDATE, TABLE, `\d`, `\dt`, `\copy`), and elsewhere SQL
/// keywords and the columns of the tables the statement names. Keywords come back in the case the
/// word was typed in. Pure: the shell hands it the text before the cursor and the catalog it read
/// from the server.
public struct Completion: Sendable {
    /// Table names and their columns, as read from information_schema.
    public struct Catalog: Sendable, Equatable {
        public var tables: [String]
        /// Columns by table, in ordinal order.
        public var columns: [String: [String]]
        public init(tables: [String] = [], columns: [String: [String]] = [:]) {
            self.tables = tables.sorted()
            self.columns = columns
        }
    }

    public var catalog: Catalog

    public init(catalog: Catalog = Catalog()) {
        self.catalog = catalog
    }

    static let keywords = [
        "ALL", "ALTER", "AND", "AS", "ASC", "BEGIN", "BETWEEN", "BY", "CASE", "CAST", "COMMIT", "CREATE",
        "CROSS", "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXISTS", "EXPLAIN", "FALSE",
        "FROM", "GROUP", "HAVING", "IF", "IN", "INDEX", "INNER", "INSERT", "INTO", "IS", "JOIN", "KEY", "LEFT",
        "LIKE", "LIMIT", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER", "PRIMARY", "ROLLBACK", "SELECT",
        "SET", "SHARD", "SHARDS", "TABLE", "THEN", "TRUE", "UNION", "UNIQUE", "UPDATE", "USING", "VALUES",
        "VIEW", "WHEN", "WHERE", "WITH",
        // types
        "BIGINT", "BLOB", "BOOLEAN", "BYTEA", "DOUBLE", "INTEGER", "NUMERIC", "REAL", "SMALLINT", "TEXT",
        "TIMESTAMP", "VARCHAR",
    ]

    /// The characters that end a word for completion; the line editor is given the same set.
    public static let wordBreaks = " \t\n(),;"

    /// Words after which a table name goes.
    static let tableContexts: Set<String> = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "\\D", "\\DT", "\\COPY", "EXISTS"]

    /// The candidates that complete `word`, the last word of `textBeforeCursor` (the statement typed
    /// so far, earlier lines included), sorted and without duplicates.
    public func candidates(textBeforeCursor: String) -> [String] {
        // The word is what follows the last break character, as libedit cuts it (Self.wordBreaks).
        let word = String(textBeforeCursor.reversed().prefix { !Self.wordBreaks.contains($0) }.reversed())
        let tokens = Self.words(String(textBeforeCursor.dropLast(word.count)))
        let previous = tokens.last?.uppercased()
        let isFirstWord = tokens.isEmpty

        if word.hasPrefix("\\"), isFirstWord {
            return MetaCommand.catalog.map(\.name).filter { $0.hasPrefix(word) }.sorted()
        }
        let lowerWord = word.lowercased()
        func matching(_ names: [String]) -> [String] {
            names.filter { $0.lowercased().hasPrefix(lowerWord) }
        }
        if let previous, Self.tableContexts.contains(previous) || previous.hasSuffix(",") && Self.inTableList(tokens) {
            return Array(Set(matching(catalog.tables))).sorted()
        }
        let lowercaseKeywords = word.first.map { $0.isLowercase } ?? false
        let keywords = matching(Self.keywords).map { lowercaseKeywords ? $0.lowercased() : $0 }
        let named = Self.tablesNamed(in: tokens, known: catalog.tables)
        let columns = matching(named.flatMap { catalog.columns[$0] ?? [] })
        return Array(Set(keywords + columns)).sorted()
    }

    /// The table names a statement mentions after FROM, JOIN, UPDATE or INTO (and in a FROM list).
    static func tablesNamed(in tokens: [String], known: [String]) -> [String] {
        let knownByLowercase = Dictionary(known.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        var names: [String] = []
        var inFromList = false
        for (index, token) in tokens.enumerated() {
            let upper = token.uppercased()
            if ["FROM", "JOIN", "UPDATE", "INTO", "TABLE"].contains(upper) {
                inFromList = upper == "FROM"
                if index + 1 < tokens.count, let name = knownByLowercase[tokens[index + 1].trimmingCharacters(in: ",;").lowercased()] {
                    names.append(name)
                }
            } else if inFromList, index > 0, tokens[index - 1].hasSuffix(",") {
                if let name = knownByLowercase[token.trimmingCharacters(in: ",;").lowercased()] { names.append(name) }
            } else if ["WHERE", "GROUP", "ORDER", "LIMIT", "ON", "SET"].contains(upper) {
                inFromList = false
            }
        }
        return names
    }

    /// Whether the last FROM of `tokens` is still open (no WHERE, GROUP, ... since).
    private static func inTableList(_ tokens: [String]) -> Bool {
        for token in tokens.reversed() {
            let upper = token.uppercased()
            if upper == "FROM" { return true }
            if ["WHERE", "GROUP", "ORDER", "LIMIT", "ON", "SET", "SELECT"].contains(upper) { return false }
        }
        return false
    }

    /// Whitespace- and parenthesis-separated words; a comma stays on the word it ends.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace || $0 == "(" || $0 == ")" }).map(String.init)
    }
}
