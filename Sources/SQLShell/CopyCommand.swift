/// psql's `\copy`: rows move between a file on the client and the server. `to` runs the query (or
/// `SELECT * FROM table`) and writes its rows; `from` reads the file and sends the rows as INSERT
/// statements of `rowsPerInsert` rows, which any server that takes INSERT accepts (COPY FROM STDIN
/// through postgres-nio needs the extended protocol, which MeshWire does not take COPY in).
public struct CopyCommand: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case table(name: String, columns: [String])
        case query(String)
    }

    public enum Direction: Sendable, Equatable {
        case from, to
    }

    public var source: Source
    public var direction: Direction
    /// The client file; nil for stdin / stdout.
    public var path: String?
    public var csv = false
    public var header = false
    public var delimiter: Character
    public var null: String

    /// Rows per INSERT statement of `\copy ... from`.
    public static let rowsPerInsert = 500
    /// The longest row `\copy ... from` reads, so a file without line ends cannot exhaust memory.
    public static let rowBytesMax = 64 << 20

    public typealias ParseError = MetaCommand.ParseError

    /// Parses what follows `\copy`.
    static func parse(_ text: String) throws(ParseError) -> CopyCommand {
        var rest = Substring(text.trimmingWhitespace())
        let source: Source
        if rest.first == "(" {
            guard let close = Self.matchingParenthesis(rest) else { throw ParseError("\\copy: unterminated query: missing )") }
            source = .query(String(rest[rest.index(after: rest.startIndex)..<close]).trimmingWhitespace())
            rest = rest[rest.index(after: close)...]
        } else {
            let name = rest.prefix { !$0.isWhitespace && $0 != "(" }
            guard !name.isEmpty else { throw ParseError("\\copy: arguments required: TABLE from|to FILE") }
            rest = rest.dropFirst(name.count).drop { $0.isWhitespace }
            var columns: [String] = []
            if rest.first == "(" {
                guard let close = Self.matchingParenthesis(rest) else { throw ParseError("\\copy: unterminated column list: missing )") }
                columns = rest[rest.index(after: rest.startIndex)..<close].split(separator: ",").map { String($0).trimmingWhitespace() }
                rest = rest[rest.index(after: close)...]
            }
            source = .table(name: String(name), columns: columns)
        }
        var words = try MetaCommand.splitArguments(String(rest)).filter { $0 != "(" && $0 != ")" && $0 != "," }
            .map { $0.trimmingCharacters(in: "(),") }
        guard let directionWord = words.first?.lowercased(), directionWord == "from" || directionWord == "to" else {
            throw ParseError("\\copy: expected from or to after the table or query")
        }
        let direction: Direction = directionWord == "from" ? .from : .to
        if case .query = source, direction == .from { throw ParseError("\\copy: a query can only be copied to a file") }
        words.removeFirst()
        guard let target = words.first else { throw ParseError("\\copy: missing FILE after \(directionWord)") }
        words.removeFirst()
        let path: String? = ["stdin", "stdout", "pstdin", "pstdout"].contains(target.lowercased()) ? nil : target
        var command = CopyCommand(source: source, direction: direction, path: path, delimiter: "\t", null: "\\N")
        var explicitDelimiter: Character?
        var explicitNull: String?
        var index = 0
        func value(of option: String) throws(ParseError) -> String {
            index += 1
            guard index < words.count else { throw ParseError("\\copy: option \(option) needs a value") }
            return words[index]
        }
        while index < words.count {
            switch words[index].lowercased() {
            case "with", "format", "": break
            case "csv": command.csv = true
            case "text": command.csv = false
            case "header": command.header = true
            case "true", "on": break
            case "binary": throw ParseError("\\copy: BINARY format is not supported: use csv or text")
            case "delimiter":
                let delimiter = try value(of: "delimiter")
                guard delimiter.count == 1, let character = delimiter.first else {
                    throw ParseError("\\copy: the delimiter must be one character, got \"\(delimiter)\"")
                }
                explicitDelimiter = character
            case "null": explicitNull = try value(of: "null")
            default: throw ParseError("\\copy: unknown option \"\(words[index])\"")
            }
            index += 1
        }
        command.delimiter = explicitDelimiter ?? (command.csv ? "," : "\t")
        command.null = explicitNull ?? (command.csv ? "" : "\\N")
        return command
    }

    /// The index of the `)` closing the `(` that `text` starts with, skipping quoted text.
    private static func matchingParenthesis(_ text: Substring) -> Substring.Index? {
        var depth = 0
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "(" {
                depth += 1
            } else if character == ")" {
                depth -= 1
                if depth == 0 { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The SELECT whose rows `\copy ... to` writes.
    public var selectStatement: String {
        switch source {
        case .query(let query): return query
        case .table(let name, let columns):
            return "SELECT \(columns.isEmpty ? "*" : columns.joined(separator: ", ")) FROM \(name)"
        }
    }

    // MARK: Writing

    /// The file text for `columns` and `rows` (a nil value is NULL).
    public func encode(columns: [String], rows: [[String?]]) -> String {
        var output = ""
        if header { output += line(columns.map(Optional.some)) + "\n" }
        for row in rows { output += line(row) + "\n" }
        return output
    }

    private func line(_ values: [String?]) -> String {
        values.map { value -> String in
            guard let value else { return null }
            return csv ? csvField(value) : textField(value)
        }.joined(separator: String(delimiter))
    }

    private func csvField(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value == null || value.contains(delimiter) || value.contains("\"")
            || value.contains("\n") || value.contains("\r")
        guard needsQuotes else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }

    private func textField(_ value: String) -> String {
        var field = ""
        for character in value {
            switch character {
            case "\\": field += "\\\\"
            case "\n": field += "\\n"
            case "\r": field += "\\r"
            case "\t": field += "\\t"
            case delimiter: field += "\\" + String(delimiter)
            default: field.append(character)
            }
        }
        return field
    }

    // MARK: Reading

    /// The rows of a file in this command's format; the header line, when there is one, is skipped.
    public func decode(_ text: String) throws(ParseError) -> [[String?]] {
        var rows = csv ? try csvRows(text) : try textRows(text)
        if header, !rows.isEmpty { rows.removeFirst() }
        return rows
    }

    private func textRows(_ text: String) throws(ParseError) -> [[String?]] {
        var rows: [[String?]] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(line)
            if line.last == "\r" { line.removeLast() }
            if line.isEmpty, number > 0 || text.isEmpty { continue }
            if line == "\\." { break }
            guard line.utf8.count <= Self.rowBytesMax else {
                throw ParseError("\\copy: line \(number + 1) is longer than the row limit of \(Self.rowBytesMax) bytes")
            }
            var row: [String?] = []
            var field = ""
            var characters = line[...]
            func finishField() { row.append(field == null ? nil : Self.unescape(field)) }
            while let character = characters.popFirst() {
                if character == "\\", let next = characters.popFirst() {
                    field.append("\\")
                    field.append(next)
                } else if character == delimiter {
                    finishField()
                    field = ""
                } else {
                    field.append(character)
                }
            }
            finishField()
            rows.append(row)
        }
        return rows
    }

    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var result = ""
        var characters = field[...]
        while let character = characters.popFirst() {
            guard character == "\\", let next = characters.popFirst() else {
                result.append(character)
                continue
            }
            switch next {
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "b": result.append("\u{8}")
            case "f": result.append("\u{c}")
            case "v": result.append("\u{b}")
            default: result.append(next)
            }
        }
        return result
    }

    private func csvRows(_ text: String) throws(ParseError) -> [[String?]] {
        var rows: [[String?]] = []
        var row: [String?] = []
        var field = ""
        var quoted = false
        var inQuotes = false
        var rowBytes = 0
        var characters = text[...]
        func finishField() {
            row.append(!quoted && field == null ? nil : field)
            field = ""
            quoted = false
        }
        func finishRow() {
            finishField()
            rows.append(row)
            row = []
            rowBytes = 0
        }
        while let character = characters.popFirst() {
            rowBytes += character.utf8.count
            guard rowBytes <= Self.rowBytesMax else {
                throw ParseError("\\copy: row \(rows.count + 1) is longer than the row limit of \(Self.rowBytesMax) bytes")
            }
            if inQuotes {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                inQuotes = true
                quoted = true
            } else if character == delimiter {
                finishField()
            } else if character == "\n" || character == "\r\n" {
                finishRow()
            } else if character == "\r" {
                continue
            } else {
                field.append(character)
            }
        }
        if inQuotes { throw ParseError("\\copy: unterminated CSV quoted field in row \(rows.count + 1)") }
        if !field.isEmpty || quoted || !row.isEmpty { finishRow() }
        return rows
    }

    // MARK: INSERT statements

    /// The INSERT statements that load `rows` into the table, `rowsPerInsert` rows each; values
    /// travel as string literals, which PostgreSQL and MeshDB convert to the column types.
    public func insertStatements(rows: [[String?]]) throws(ParseError) -> [String] {
        guard case .table(let name, let columns) = source else {
            throw ParseError("\\copy: a query can only be copied to a file")
        }
        let target = columns.isEmpty ? name : "\(name) (\(columns.joined(separator: ", ")))"
        var statements: [String] = []
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + Self.rowsPerInsert)]
            let values = batch.map { row in
                "(" + row.map { $0.map { "'" + $0.replacingAll("'", with: "''") + "'" } ?? "NULL" }.joined(separator: ", ") + ")"
            }
            statements.append("INSERT INTO \(target) VALUES \(values.joined(separator: ", "))")
            start += Self.rowsPerInsert
        }
        return statements
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (Foundation-free).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }

    func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
