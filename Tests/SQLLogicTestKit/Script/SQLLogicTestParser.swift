/// A script line the parser cannot read, with where it is.
public struct SQLLogicTestParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let message: String

    public var description: String { "\(path):\(line): \(message)" }
}

/// Reads sqllogictest scripts the way the reference implementation (sqllogictest.c) does:
/// records are runs of non-blank lines; a line of only whitespace is blank; a line starting with
/// '#' is a comment that neither separates records nor belongs to the SQL; a trailing "\r" is
/// dropped (several evidence/ scripts have CRLF line ends); the SQL of a query ends at "----".
public enum SQLLogicTestParser {
    /// The reference's defaults, kept for the runner.
    public static let defaultHashThreshold = 8

    public static func parse(_ text: String, path: String) throws(SQLLogicTestParseError) -> SQLLogicTestScript {
        var records: [SQLLogicTestRecord] = []
        var lines = contentLines(text)[...]
        while true {
            // Blank lines separate records.
            while let first = lines.first, first.text.isEmpty { lines.removeFirst() }
            guard !lines.isEmpty else { break }
            let end = lines.firstIndex { $0.text.isEmpty } ?? lines.endIndex
            records.append(try record(lines[..<end], path: path))
            lines = lines[end...]
        }
        return SQLLogicTestScript(path: path, records: records)
    }

    /// A line of the script: its 1-based number and its text, normalized.
    struct Line {
        let number: Int
        let text: String
    }

    /// Every line but comments, with "\r" dropped and whitespace-only lines made empty.
    static func contentLines(_ text: String) -> [Line] {
        var lines: [Line] = []
        // Split on bytes: as Characters, "\r\n" is one grapheme and would hide the "\n".
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = raw[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.first == UInt8(ascii: "#") { continue }
            let text = String(decoding: line, as: UTF8.self)
            lines.append(Line(number: index + 1, text: text.allSatisfy(\.isWhitespace) ? "" : text))
        }
        return lines
    }

    /// One record from its non-blank lines.
    static func record(_ recordLines: ArraySlice<Line>, path: String) throws(SQLLogicTestParseError) -> SQLLogicTestRecord {
        var lines = recordLines
        var conditions: [SQLLogicTestCondition] = []
        while let line = lines.first, let condition = try parseCondition(line, path: path) {
            conditions.append(condition)
            lines.removeFirst()
        }
        guard let command = lines.popFirst() else {
            // Only conditions: the record they guard is missing.
            throw SQLLogicTestParseError(path: path, line: recordLines.last?.number ?? 0, message: "a condition must be followed by a record")
        }
        let tokens = tokenize(command.text)
        func failure(_ message: String) -> SQLLogicTestParseError {
            SQLLogicTestParseError(path: path, line: command.number, message: message)
        }
        let body: SQLLogicTestRecord.Body
        switch tokens[0] {
        case "statement":
            let expectsError: Bool
            switch tokens.count > 1 ? tokens[1] : "" {
            case "ok": expectsError = false
            case "error": expectsError = true
            default: throw failure("statement argument should be 'ok' or 'error'")
            }
            let sql = lines.map(\.text).joined(separator: "\n")
            guard !sql.isEmpty else { throw failure("statement without SQL") }
            body = .statement(expectsError: expectsError, sql: sql)
        case "query":
            body = .query(try query(tokens, lines, failure: failure))
        case "hash-threshold":
            guard tokens.count > 1, let threshold = Int(tokens[1]), threshold >= 0 else {
                throw failure("hash-threshold takes a count of values (0: never hash)")
            }
            body = .hashThreshold(threshold)
        case "halt":
            body = .halt
        default:
            throw failure("unknown record type: '\(tokens[0])'")
        }
        return SQLLogicTestRecord(line: command.number, conditions: conditions, body: body)
    }

    /// The condition on `line`, or nil when the line is not one.
    static func parseCondition(_ line: Line, path: String) throws(SQLLogicTestParseError) -> SQLLogicTestCondition? {
        let tokens = tokenize(line.text)
        guard tokens.first == "skipif" || tokens.first == "onlyif" else { return nil }
        guard tokens.count >= 2 else {
            throw SQLLogicTestParseError(path: path, line: line.number, message: "\(tokens[0]) names no engine")
        }
        return tokens[0] == "skipif" ? .skipIf(tokens[1]) : .onlyIf(tokens[1])
    }

    static func query(_ tokens: [String], _ lines: ArraySlice<Line>,
                      failure: (String) -> SQLLogicTestParseError) throws(SQLLogicTestParseError) -> SQLLogicTestQuery {
        guard tokens.count > 1 else { throw failure("missing type string") }
        var types: [SQLLogicTestColumnType] = []
        for letter in tokens[1] {
            guard let type = SQLLogicTestColumnType(rawValue: letter) else {
                throw failure("unknown type character '\(letter)' in type string (I, R or T)")
            }
            types.append(type)
        }
        var sort = SQLLogicTestSortMode.noSort
        if tokens.count > 2 {
            guard let mode = SQLLogicTestSortMode(rawValue: tokens[2]) else {
                throw failure("unknown sort method: '\(tokens[2])' (nosort, rowsort or valuesort)")
            }
            sort = mode
        }
        let separator = lines.firstIndex { $0.text == "----" } ?? lines.endIndex
        let sql = lines[..<separator].map(\.text).joined(separator: "\n")
        guard !sql.isEmpty else { throw failure("query without SQL") }
        let expected = separator < lines.endIndex ? lines[(separator + 1)...].map(\.text) : []
        return SQLLogicTestQuery(types: types, sort: sort, label: tokens.count > 3 ? tokens[3] : nil, sql: sql, expected: expected)
    }

    /// Whitespace-separated words, as the reference's tokenizer (isspace) sees them.
    static func tokenize(_ line: String) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\u{0B}" || $0 == "\u{0C}" }).map(String.init)
    }
}
