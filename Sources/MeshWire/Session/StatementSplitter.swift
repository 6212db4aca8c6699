/// Cuts the text of a simple Query into its statements at the semicolons outside quotes, quoted
/// identifiers, dollar quotes and comments, so that the session can run them one at a time (each
/// gets its own CommandComplete, and an error skips the rest, as PostgreSQL does) and can recognize
/// COPY, which MeshDB's SQL parser does not handle, among them.
public enum StatementSplitter {
    /// One statement: its text without the semicolon, and how many characters precede it in the
    /// query, to turn an error position within the statement into one within the query.
    public struct Piece: Sendable, Equatable {
        public var text: String
        public var characterOffset: Int
    }

    /// The statements of `sql`, leaving out empty ones (only spaces and comments).
    public static func split(_ sql: String) -> [Piece] {
        let bytes = Array(sql.utf8)
        var pieces: [Piece] = []
        var start = 0
        var index = 0
        var meaningful = false
        func finish(at end: Int) {
            if meaningful {
                pieces.append(Piece(text: String(decoding: bytes[start..<end], as: UTF8.self),
                                    characterOffset: String(decoding: bytes[0..<start], as: UTF8.self).count))
            }
            meaningful = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: ";"):
                finish(at: index)
                index += 1
                start = index
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let escapes = byte == UInt8(ascii: "'") && index > 0
                    && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                index = skipQuoted(bytes, from: index, quote: byte, backslashEscapes: escapes)
                meaningful = true
                continue
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index = skipBlockComment(bytes, from: index)
                continue
            case UInt8(ascii: "$"):
                if let end = skipDollarQuoted(bytes, from: index) {
                    index = end
                    meaningful = true
                    continue
                }
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0C:
                index += 1
                continue
            default:
                break
            }
            meaningful = true
            index += 1
        }
        finish(at: bytes.count)
        return pieces
    }

    /// The index after the closing quote (a doubled quote stays inside), or the end of the text.
    private static func skipQuoted(_ bytes: [UInt8], from start: Int, quote: UInt8, backslashEscapes: Bool) -> Int {
        var index = start + 1
        while index < bytes.count {
            if backslashEscapes, bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if bytes[index] == quote {
                if index + 1 < bytes.count, bytes[index + 1] == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return bytes.count
    }

    /// Block comments nest in PostgreSQL.
    private static func skipBlockComment(_ bytes: [UInt8], from start: Int) -> Int {
        var depth = 0
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "/"), bytes[index + 1] == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if bytes[index] == UInt8(ascii: "*"), bytes[index + 1] == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return bytes.count
    }

    /// `$tag$ ... $tag$`: the index after the closing tag, nil when `$` starts no dollar quote
    /// (a parameter such as `$1`).
    private static func skipDollarQuoted(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "$") {
            let byte = bytes[index]
            let isTagByte = byte == UInt8(ascii: "_") || byte >= 0x80
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                || (index > start + 1 && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte))
            guard isTagByte else { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let tag = Array(bytes[start...index])
        var search = index + 1
        while search + tag.count <= bytes.count {
            if bytes[search] == UInt8(ascii: "$"), Array(bytes[search..<search + tag.count]) == tag {
                return search + tag.count
            }
            search += 1
        }
        return bytes.count
    }
}
