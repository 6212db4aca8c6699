public import QueryPlanner

/// A `COPY ... FROM STDIN` or `COPY ... TO STDOUT` statement, recognized by the wire session because
/// COPY is a protocol feature (its data travels in CopyData messages) rather than a query MeshDB's
/// SQL layer runs. Names are kept as written so the shell can put them into INSERT and SELECT text.
public struct CopyStatement: Sendable, Equatable {
    public enum Direction: Sendable, Equatable { case fromStdin, toStdout }
    public enum Source: Sendable, Equatable {
        /// A table, and the columns as written (empty: all of them).
        case table(name: String, columns: [String])
        /// `COPY (query) TO STDOUT`.
        case query(String)
    }

    public var direction: Direction
    public var source: Source
    public var format: CopyFormat

    /// Whether `sql` is a COPY statement (its first word is COPY), without parsing the rest.
    public static func isCopy(_ sql: String) -> Bool {
        Tokenizer.firstWord(of: sql) == "copy"
    }

    /// Parses a statement whose first word is COPY. Errors carry a 1-based character position.
    public init(parsing sql: String) throws(SQLError) {
        let tokens = try Tokenizer(sql).tokens()
        var index = 1
        func peek() -> Token? { index < tokens.count ? tokens[index] : nil }
        func keyword(_ word: String) -> Bool {
            guard let token = peek(), token.kind == .word, token.text.lowercased() == word else { return false }
            index += 1
            return true
        }
        func fail(_ message: String, _ state: SQLState = .syntaxError) -> SQLError {
            let position = peek().map { String(decoding: Array(sql.utf8)[0..<$0.start], as: UTF8.self).count + 1 } ?? sql.count + 1
            return SQLError(state, message, position: position)
        }
        if keyword("binary") { throw fail("COPY BINARY is not supported: use FORMAT text or csv", .featureNotSupported) }
        guard let first = peek() else { throw fail("COPY needs a table name or a parenthesized query") }
        var source: Source
        if first.kind == .open {
            var depth = 0
            var end = index
            repeat {
                if tokens[end].kind == .open { depth += 1 }
                if tokens[end].kind == .close { depth -= 1 }
                end += 1
            } while depth > 0 && end < tokens.count
            guard depth == 0 else { throw fail("unbalanced parenthesis in COPY (query)") }
            let bytes = Array(sql.utf8)
            source = .query(String(decoding: bytes[tokens[index].end..<tokens[end - 1].start], as: UTF8.self))
            index = end
        } else {
            var name = ""
            while let token = peek(), token.kind == .word || token.kind == .quoted || token.kind == .dot,
                  !(token.kind == .word && ["from", "to"].contains(token.text.lowercased())) {
                name += token.raw
                index += 1
            }
            guard !name.isEmpty else { throw fail("COPY needs a table name or a parenthesized query") }
            var columns: [String] = []
            if peek()?.kind == .open {
                index += 1
                while true {
                    guard let column = peek(), column.kind == .word || column.kind == .quoted else {
                        throw fail("expected a column name in COPY's column list")
                    }
                    columns.append(column.raw)
                    index += 1
                    if peek()?.kind == .comma { index += 1; continue }
                    guard peek()?.kind == .close else { throw fail("expected , or ) in COPY's column list") }
                    index += 1
                    break
                }
            }
            source = .table(name: name, columns: columns)
        }
        let direction: Direction
        if keyword("from") {
            guard keyword("stdin") else {
                throw fail("COPY FROM a server file or program is not supported: use FROM STDIN (psql's \\copy)", .featureNotSupported)
            }
            direction = .fromStdin
            if case .query = source { throw fail("COPY (query) FROM is not possible: COPY FROM needs a table") }
        } else if keyword("to") {
            guard keyword("stdout") else {
                throw fail("COPY TO a server file or program is not supported: use TO STDOUT (psql's \\copy)", .featureNotSupported)
            }
            direction = .toStdout
        } else {
            throw fail("expected FROM STDIN or TO STDOUT")
        }
        var format = CopyFormat()
        _ = keyword("with")
        func stringValue(_ option: String) throws(SQLError) -> String {
            _ = keyword("as")
            guard let token = peek(), token.kind == .string else { throw fail("COPY option \(option) needs a quoted value") }
            index += 1
            return token.text
        }
        func character(_ option: String) throws(SQLError) -> UInt8 {
            let value = try stringValue(option)
            guard value.utf8.count == 1, let byte = value.utf8.first else {
                throw fail("COPY \(option) must be a single one-byte character", .featureNotSupported)
            }
            return byte
        }
        func apply(_ option: String, parenthesized: Bool) throws(SQLError) {
            switch option {
            case "format":
                guard let token = peek(), token.kind == .word || token.kind == .string else { throw fail("FORMAT needs text, csv or binary") }
                index += 1
                switch token.text.lowercased() {
                case "text": format.kind = .text
                case "csv": format.kind = .csv
                case "binary": format.kind = .binary
                default: throw fail("COPY format \"\(token.text)\" not recognized", .invalidParameterValue)
                }
            case "csv": format.kind = .csv
            case "text": format.kind = .text
            case "binary": format.kind = .binary
            case "header":
                format.header = true
                if parenthesized, let token = peek(), token.kind == .word || token.kind == .string,
                   let value = Self.boolean(token.text) {
                    format.header = value
                    index += 1
                }
            case "delimiter": format.delimiter = try character("DELIMITER")
            case "null": format.null = try stringValue("NULL")
            case "quote": format.quote = try character("QUOTE")
            case "escape": format.escape = try character("ESCAPE")
            case "freeze", "oids":
                // FREEZE is an optimization hint (pgbench -i sends it); MeshDB has nothing to freeze.
                if parenthesized, let token = peek(), token.kind == .word, Self.boolean(token.text) != nil { index += 1 }
            case "encoding":
                let encoding = try stringValue("ENCODING").lowercased().replacingOccurrences(of: "-", with: "")
                guard encoding == "utf8" else { throw fail("COPY ENCODING \(encoding) is not supported: only UTF8", .featureNotSupported) }
            default:
                throw fail("COPY option \"\(option)\" not recognized", .syntaxError)
            }
        }
        if peek()?.kind == .open {
            index += 1
            while true {
                guard let token = peek(), token.kind == .word else { throw fail("expected a COPY option name") }
                index += 1
                try apply(token.text.lowercased(), parenthesized: true)
                if peek()?.kind == .comma { index += 1; continue }
                guard peek()?.kind == .close else { throw fail("expected , or ) in COPY options") }
                index += 1
                break
            }
        } else {
            while let token = peek(), token.kind == .word {
                index += 1
                try apply(token.text.lowercased(), parenthesized: false)
            }
        }
        guard index == tokens.count else { throw fail("unexpected text after COPY options") }
        if format.kind == .binary {
            // PostgreSQL's wording: these shape text, and binary has none.
            let textOnly: [(String, Bool)] = [("DELIMITER", format.delimiter != nil), ("NULL", format.null != nil),
                                              ("HEADER", format.header), ("QUOTE", format.quote != nil), ("ESCAPE", format.escape != nil)]
            if let (option, _) = textOnly.first(where: { $0.1 }) { throw fail("cannot specify \(option) in BINARY mode") }
        }
        if format.kind == .text, format.null == nil { format.null = "\\N" }
        self.direction = direction
        self.source = source
        self.format = format
    }

    private static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "on", "1", "yes": true
        case "false", "off", "0", "no": false
        default: nil
        }
    }

    // MARK: Tokens

    struct Token {
        enum Kind { case word, quoted, string, open, close, comma, dot, other }
        var kind: Kind
        /// A word as written, an identifier or string without its quotes.
        var text: String
        /// The token exactly as in the statement (a quoted identifier keeps its quotes).
        var raw: String
        var start: Int
        var end: Int
    }

    struct Tokenizer {
        let bytes: [UInt8]
        init(_ sql: String) { bytes = Array(sql.utf8) }

        /// The statement's first word, lower-cased, past whitespace and comments; nil when it
        /// starts with anything else. Reads only that far: the wire session asks it of every
        /// statement (is it a COPY, a DEALLOCATE?).
        static func firstWord(of sql: String) -> String? {
            var utf8 = sql.utf8[...]
            while let byte = utf8.first {
                if [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(byte) {
                    utf8 = utf8.dropFirst()
                } else if utf8.starts(with: "--".utf8) {
                    utf8 = utf8.drop { $0 != UInt8(ascii: "\n") }
                } else if utf8.starts(with: "/*".utf8) {
                    utf8 = utf8.dropFirst(2)
                    while !utf8.isEmpty, !utf8.starts(with: "*/".utf8) { utf8 = utf8.dropFirst() }
                    utf8 = utf8.dropFirst(2)
                } else {
                    break
                }
            }
            func isWordByte(_ byte: UInt8) -> Bool {
                byte == UInt8(ascii: "_") || byte >= 0x80 || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
            guard let first = utf8.first, isWordByte(first) else { return nil }
            return String(decoding: utf8.prefix { isWordByte($0) || $0 == UInt8(ascii: "$") }, as: UTF8.self).lowercased()
        }

        func tokens() throws(SQLError) -> [Token] {
            var tokens: [Token] = []
            var index = 0
            func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
            while index < bytes.count {
                let byte = bytes[index]
                let start = index
                if [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                    index += 2
                    while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                    index = min(bytes.count, index + 2)
                } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                    var value: [UInt8] = []
                    index += 1
                    var closed = false
                    while index < bytes.count {
                        if bytes[index] == byte {
                            if index + 1 < bytes.count, bytes[index + 1] == byte {
                                value.append(byte)
                                index += 2
                                continue
                            }
                            index += 1
                            closed = true
                            break
                        }
                        value.append(bytes[index])
                        index += 1
                    }
                    guard closed else {
                        throw SQLError(.syntaxError, "unterminated quoted \(byte == UInt8(ascii: "'") ? "string" : "identifier") in COPY",
                                       position: text(0..<start).count + 1)
                    }
                    tokens.append(Token(kind: byte == UInt8(ascii: "'") ? .string : .quoted, text: String(decoding: value, as: UTF8.self),
                                        raw: text(start..<index), start: start, end: index))
                } else if byte == UInt8(ascii: "_") || byte >= 0x80 || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    while index < bytes.count, bytes[index] == UInt8(ascii: "_") || bytes[index] == UInt8(ascii: "$") || bytes[index] >= 0x80
                            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index] | 0x20)
                            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                    tokens.append(Token(kind: .word, text: text(start..<index), raw: text(start..<index), start: start, end: index))
                } else {
                    index += 1
                    let kind: Token.Kind = switch byte {
                    case UInt8(ascii: "("): .open
                    case UInt8(ascii: ")"): .close
                    case UInt8(ascii: ","): .comma
                    case UInt8(ascii: "."): .dot
                    default: .other
                    }
                    tokens.append(Token(kind: kind, text: text(start..<index), raw: text(start..<index), start: start, end: index))
                }
            }
            return tokens
        }
    }
}
