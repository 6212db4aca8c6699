/// One token of statement text, with the byte range it was read from (for error positions and for
/// quoting the token in "syntax error at or near" messages).
struct Token: Sendable, Hashable {
    var kind: Kind
    /// 0-based UTF-8 offsets: `start..<end`.
    var start: Int
    var end: Int

    enum Kind: Sendable, Hashable {
        /// A keyword or an unquoted identifier, folded to lower case (ASCII only, as PostgreSQL folds).
        case word(String)
        /// `"..."` with `""` for a quote; kept exactly.
        case quotedIdentifier(String)
        case string(String)
        case blob([UInt8])
        case integer(Int64)
        /// A number with a point or exponent, or an integer too large for 64 bits.
        case real(Double)
        /// `$n` or `?n` with its number; `?` alone has none (the parser numbers it).
        case parameter(Int?)
        /// Punctuation and operators: `( ) , ; . + - * / % || = == <> != < <= > >= << >> & | ~ ::`.
        case symbol(String)
        case end
    }

    var location: SourceLocation { SourceLocation(offset: start) }
}

/// Splits statement text into tokens. Follows PostgreSQL where the two dialects differ (block
/// comments nest, unquoted names fold to lower case) and SQLite where PostgreSQL has nothing to
/// say (`X'..'` blobs, `?` parameters, `==`, hexadecimal integers).
struct Lexer {
    /// The text's bytes, valid while `tokenize` runs (reading through a buffer pointer keeps the
    /// lexer fast in debug builds too, where the fuzz tests run).
    private let bytes: UnsafeBufferPointer<UInt8>
    private let text: String
    private var index = 0

    private init(_ text: String, bytes: UnsafeBufferPointer<UInt8>) {
        self.text = text
        self.bytes = bytes
    }

    /// Every token of the text, ending with one `.end` token.
    static func tokenize(_ text: String) throws(SQLError) -> [Token] {
        let utf8 = Array(text.utf8)
        let outcome = utf8.withUnsafeBufferPointer { bytes -> Result<[Token], SQLError> in
            var lexer = Lexer(text, bytes: bytes)
            var tokens: [Token] = []
            tokens.reserveCapacity(bytes.count / 4 + 1)
            while true {
                do throws(SQLError) {
                    let token = try lexer.next()
                    tokens.append(token)
                    if case .end = token.kind { return .success(tokens) }
                } catch {
                    return .failure(error)
                }
            }
        }
        return try outcome.get()
    }

    mutating func next() throws(SQLError) -> Token {
        try skipSpaceAndComments()
        let start = index
        guard index < bytes.count else { return Token(kind: .end, start: start, end: start) }
        let byte = bytes[index]
        let kind: Token.Kind
        switch byte {
        case UInt8(ascii: "'"):
            kind = .string(try quoted(by: byte, start: start, what: "quoted string"))
        case UInt8(ascii: "\""):
            let name = try quoted(by: byte, start: start, what: "quoted identifier")
            guard !name.isEmpty else { throw error("zero-length delimited identifier", start: start) }
            kind = .quotedIdentifier(name)
        case UInt8(ascii: "x") where peek(1) == UInt8(ascii: "'"), UInt8(ascii: "X") where peek(1) == UInt8(ascii: "'"):
            kind = .blob(try blob(start: start))
        case UInt8(ascii: "e") where peek(1) == UInt8(ascii: "'"), UInt8(ascii: "E") where peek(1) == UInt8(ascii: "'"):
            index += 1
            kind = .string(try escapedString(start: start))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            kind = try number(start: start)
        case UInt8(ascii: ".") where peek(1).map(Self.isDigit) == true:
            kind = try number(start: start)
        case UInt8(ascii: "$") where peek(1).map { !Self.isDigit($0) } == true:
            kind = .string(try dollarQuoted(start: start))
        case UInt8(ascii: "$"), UInt8(ascii: "?"):
            kind = try parameter(start: start)
        case _ where Self.isIdentifierStart(byte):
            while index < bytes.count, Self.isIdentifierPart(bytes[index]) { index += 1 }
            kind = .word(Self.folded(bytes[start..<index]))
        default:
            kind = .symbol(try symbol(start: start))
        }
        return Token(kind: kind, start: start, end: index)
    }

    // MARK: - Pieces

    private mutating func skipSpaceAndComments() throws(SQLError) {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r") || byte == 0x0C || byte == 0x0B {
                index += 1
            } else if byte == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                try skipBlockComment()
            } else {
                return
            }
        }
    }

    /// PostgreSQL nests block comments (`/* a /* b */ c */` is one comment); SQLite does not, but
    /// SQLite never sees comments: the renderer writes none.
    private mutating func skipBlockComment() throws(SQLError) {
        let start = index
        var depth = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if bytes[index] == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return }
            } else {
                index += 1
            }
        }
        throw error("unterminated /* comment", start: start)
    }

    /// A string or identifier between `quote`s, a doubled quote standing for one.
    private mutating func quoted(by quote: UInt8, start: Int, what: String) throws(SQLError) -> String {
        index += 1
        var content: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == quote {
                guard index < bytes.count, bytes[index] == quote else {
                    return String(decoding: content, as: UTF8.self)
                }
                index += 1
            }
            content.append(byte)
        }
        throw error("unterminated \(what)", start: start)
    }

    /// PostgreSQL's escape string `E'...'` (the `E` already consumed): backslash escapes `\n`,
    /// `\t`, `\r`, `\b`, `\f`, `\\`, `\'` and a doubled quote. Octal and Unicode escapes are
    /// refused rather than misread (psql's catalog queries use only `E'\n'`).
    private mutating func escapedString(start: Int) throws(SQLError) -> String {
        index += 1
        var content: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "'") {
                guard index < bytes.count, bytes[index] == UInt8(ascii: "'") else {
                    return String(decoding: content, as: UTF8.self)
                }
                index += 1
                content.append(byte)
            } else if byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): content.append(0x0A)
                case UInt8(ascii: "t"): content.append(0x09)
                case UInt8(ascii: "r"): content.append(0x0D)
                case UInt8(ascii: "b"): content.append(0x08)
                case UInt8(ascii: "f"): content.append(0x0C)
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): content.append(escaped)
                default:
                    throw error("escape \"\\\(Character(Unicode.Scalar(escaped)))\" in an E'' string is not supported", start: index - 2, length: 2)
                }
            } else {
                content.append(byte)
            }
        }
        throw error("unterminated quoted string", start: start)
    }

    /// PostgreSQL's dollar quoting: `$$text$$` or `$tag$text$tag$`, the text taken exactly as
    /// written (no escapes, quotes need no doubling). A tag is a name without `$` that does not
    /// start with a digit (`$1` is a parameter).
    private mutating func dollarQuoted(start: Int) throws(SQLError) -> String {
        index += 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "$") {
            guard Self.isIdentifierStart(bytes[index]) || (index > start + 1 && Self.isDigit(bytes[index])) else {
                throw error("syntax error", start: start)
            }
            index += 1
        }
        guard index < bytes.count else { throw error("syntax error", start: start) }
        index += 1
        let delimiter = bytes[start..<index]
        let contentStart = index
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "$"), index + delimiter.count <= bytes.count,
               bytes[index..<index + delimiter.count].elementsEqual(delimiter) {
                let content = String(decoding: bytes[contentStart..<index], as: UTF8.self)
                index += delimiter.count
                return content
            }
            index += 1
        }
        throw error("unterminated dollar-quoted string", start: start, length: delimiter.count)
    }

    private mutating func blob(start: Int) throws(SQLError) -> [UInt8] {
        index += 2
        var digits: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "'") {
            guard let value = Self.hexValue(bytes[index]) else {
                index += Self.scalarLength(bytes[index])  // quote the bad character too
                throw error("invalid hexadecimal digit in blob literal", start: start)
            }
            digits.append(value)
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated blob literal", start: start) }
        index += 1
        guard digits.count % 2 == 0 else {
            throw error("blob literal has an odd number of hexadecimal digits", start: start)
        }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    private mutating func number(start: Int) throws(SQLError) -> Token.Kind {
        if bytes[index] == UInt8(ascii: "0"), let x = peek(1), x | 0x20 == UInt8(ascii: "x") {
            return try hexadecimal(start: start)
        }
        var isReal = false
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isReal = true
            index += 1
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            let mark = index
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            if index < bytes.count, Self.isDigit(bytes[index]) {
                isReal = true
                while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            } else {
                index = mark
            }
        }
        try refuseTrailingJunk(start: start)
        let literal = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isReal, let value = Int64(literal) { return .integer(value) }
        // Digits and a point parse as a Double always (overflow gives infinity, as in SQLite).
        guard let value = Double(literal) else { throw error("invalid number", start: start) }
        return .real(value)
    }

    /// `0x...`: SQLite reads up to 16 hexadecimal digits as a 64-bit two's-complement integer.
    private mutating func hexadecimal(start: Int) throws(SQLError) -> Token.Kind {
        index += 2
        var value: UInt64 = 0
        var digitCount = 0
        while index < bytes.count, let digit = Self.hexValue(bytes[index]) {
            value = value << 4 | UInt64(digit)
            digitCount += 1
            index += 1
        }
        guard digitCount > 0 else { throw error("trailing junk after numeric literal", start: start) }
        try refuseTrailingJunk(start: start)
        guard digitCount <= 16 else { throw error("hexadecimal literal does not fit in 64 bits", start: start) }
        return .integer(Int64(bitPattern: value))
    }

    /// `123abc` is one mistake, not a number then a name (PostgreSQL 15 and SQLite agree).
    private mutating func refuseTrailingJunk(start: Int) throws(SQLError) {
        guard index < bytes.count, Self.isIdentifierPart(bytes[index]) else { return }
        while index < bytes.count, Self.isIdentifierPart(bytes[index]) { index += 1 }
        throw error("trailing junk after numeric literal", start: start)
    }

    private mutating func parameter(start: Int) throws(SQLError) -> Token.Kind {
        let sigil = bytes[index]
        index += 1
        let digitsStart = index
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        guard index > digitsStart else {
            if sigil == UInt8(ascii: "?") { return .parameter(nil) }
            throw error("syntax error", start: start)
        }
        try refuseTrailingJunk(start: start)
        // More digits than any limit: keep the number saturated so the parser names the limit.
        let number = Int(String(decoding: bytes[digitsStart..<index], as: UTF8.self)) ?? .max
        guard number >= 1 else { throw error("there is no parameter $0", start: start) }
        return .parameter(number)
    }

    /// An operator or punctuation token. Spelled out as a switch returning string literals: the
    /// lexer's hottest path, and literals cost no allocation.
    private mutating func symbol(start: Int) throws(SQLError) -> String {
        let next = peek(1) ?? 0
        let pair: String? = switch (bytes[index], next) {
        case (UInt8(ascii: "|"), UInt8(ascii: "|")): "||"
        case (UInt8(ascii: "="), UInt8(ascii: "=")): "=="
        case (UInt8(ascii: "<"), UInt8(ascii: ">")): "<>"
        case (UInt8(ascii: "!"), UInt8(ascii: "=")): "!="
        case (UInt8(ascii: "<"), UInt8(ascii: "=")): "<="
        case (UInt8(ascii: ">"), UInt8(ascii: "=")): ">="
        case (UInt8(ascii: "<"), UInt8(ascii: "<")): "<<"
        case (UInt8(ascii: ">"), UInt8(ascii: ">")): ">>"
        case (UInt8(ascii: ":"), UInt8(ascii: ":")): "::"
        case (UInt8(ascii: "!"), UInt8(ascii: "~")): peek(2) == UInt8(ascii: "*") ? "!~*" : "!~"
        case (UInt8(ascii: "~"), UInt8(ascii: "*")): "~*"
        default: nil
        }
        if let pair {
            index += pair.utf8.count
            return pair
        }
        let single: String? = switch bytes[index] {
        case UInt8(ascii: "("): "("
        case UInt8(ascii: ")"): ")"
        case UInt8(ascii: ","): ","
        case UInt8(ascii: ";"): ";"
        case UInt8(ascii: "."): "."
        case UInt8(ascii: "+"): "+"
        case UInt8(ascii: "-"): "-"
        case UInt8(ascii: "*"): "*"
        case UInt8(ascii: "/"): "/"
        case UInt8(ascii: "%"): "%"
        case UInt8(ascii: "="): "="
        case UInt8(ascii: "<"): "<"
        case UInt8(ascii: ">"): ">"
        case UInt8(ascii: "&"): "&"
        case UInt8(ascii: "|"): "|"
        case UInt8(ascii: "~"): "~"
        case UInt8(ascii: "["): "["
        case UInt8(ascii: "]"): "]"
        default: nil
        }
        guard let single else {
            throw error("syntax error", start: start, length: Self.scalarLength(bytes[index]))
        }
        index += 1
        return single
    }

    // MARK: - Helpers

    private func peek(_ ahead: Int) -> UInt8? {
        index + ahead < bytes.count ? bytes[index + ahead] : nil
    }

    /// A lexical error quoting the text from `start` (PostgreSQL quotes the rest of the token).
    private func error(_ message: String, start: Int, length: Int? = nil) -> SQLError {
        let end = length.map { min(start + $0, bytes.count) } ?? max(index, start + 1)
        let near = String(decoding: bytes[start..<min(end, bytes.count)], as: UTF8.self)
        return SQLError(.syntaxError, "\(message) at or near \"\(near)\"",
                        position: SourceLocation(offset: start).characterPosition(in: text))
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Letters, `_` and every non-ASCII byte (PostgreSQL and SQLite both allow any non-ASCII
    /// character in a name).
    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    static func isIdentifierPart(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || isDigit(byte) || byte == UInt8(ascii: "$")
    }

    /// The value of a hexadecimal digit (either case), nil for any other byte.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// How many bytes the UTF-8 sequence that starts with `byte` takes.
    private static func scalarLength(_ byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }

    /// ASCII upper case to lower case, the rest unchanged (PostgreSQL's downcase_identifier for
    /// multibyte encodings).
    static func folded(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        guard word.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return String(decoding: word, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: word.count) { buffer in
            for (offset, byte) in word.enumerated() {
                buffer[offset] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return word.count
        }
    }
}
