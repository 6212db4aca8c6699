public import QueryPlanner

/// COPY's text and csv formats ("COPY" in the PostgreSQL documentation, File Formats): how rows
/// become lines and lines become rows.
public struct CopyFormat: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case text, csv }

    public var kind: Kind = .text
    /// Defaults: tab for text, comma for csv.
    public var delimiter: UInt8?
    /// The string that means NULL: `\N` in text, an unquoted empty field in csv.
    public var null: String?
    public var quote: UInt8?
    public var escape: UInt8?
    public var header = false

    public init(kind: Kind = .text, header: Bool = false) {
        self.kind = kind
        self.header = header
    }

    var fieldDelimiter: UInt8 { delimiter ?? (kind == .csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")) }
    var quoteCharacter: UInt8 { quote ?? UInt8(ascii: "\"") }
    var escapeCharacter: UInt8 { escape ?? quoteCharacter }
    var nullString: String { null ?? (kind == .csv ? "" : "\\N") }

    // MARK: Encoding (COPY TO)

    /// One row as a line, newline included; nil fields are NULL.
    public func line(_ fields: [String?]) -> [UInt8] {
        var line: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(fieldDelimiter) }
            guard let field else {
                line.append(contentsOf: nullString.utf8)
                continue
            }
            switch kind {
            case .text:
                for byte in field.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                    case UInt8(ascii: "\n"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                    case UInt8(ascii: "\r"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                    case UInt8(ascii: "\t"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                    case fieldDelimiter: line.append(contentsOf: [UInt8(ascii: "\\"), byte])
                    default: line.append(byte)
                    }
                }
            case .csv:
                let bytes = Array(field.utf8)
                let needsQuotes = bytes.isEmpty || field == nullString
                    || bytes.contains { $0 == fieldDelimiter || $0 == quoteCharacter || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
                guard needsQuotes else {
                    line.append(contentsOf: bytes)
                    continue
                }
                line.append(quoteCharacter)
                for byte in bytes {
                    if byte == quoteCharacter || byte == escapeCharacter { line.append(escapeCharacter) }
                    line.append(byte)
                }
                line.append(quoteCharacter)
            }
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    // MARK: Decoding (COPY FROM)

    /// Cuts the CopyData stream into rows. Bytes arrive in arbitrary pieces (a row may span two
    /// CopyData messages, and in csv a quoted field may span lines), so it keeps the unfinished
    /// row; `rowBytesMax` bounds it.
    public struct Decoder: Sendable {
        public let format: CopyFormat
        public let rowBytesMax: Int
        private var pending: [UInt8] = []
        private var skipHeader: Bool
        /// Set by the text format's end-of-data marker `\.`: later bytes are ignored.
        public private(set) var ended = false
        /// Lines consumed so far, for error messages ("line 3").
        public private(set) var lineNumber = 0

        public init(format: CopyFormat, rowBytesMax: Int) {
            self.format = format
            self.rowBytesMax = rowBytesMax
            self.skipHeader = format.header
        }

        /// The rows completed by `bytes`.
        public mutating func append(_ bytes: [UInt8]) throws(SQLError) -> [[String?]] {
            guard !ended else { return [] }
            pending.append(contentsOf: bytes)
            var rows: [[String?]] = []
            var start = 0
            while let end = lineEnd(from: start) {
                var line = Array(pending[start..<end])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                start = end + 1
                if let row = try take(line) { rows.append(row) }
                if ended { break }
            }
            pending.removeFirst(start)
            guard pending.count <= rowBytesMax else {
                throw SQLError(.programLimitExceeded,
                               "COPY row at line \(lineNumber + 1) exceeds copy_row_bytes_max = \(rowBytesMax)")
            }
            return rows
        }

        /// The last row when the data did not end with a newline.
        public mutating func finish() throws(SQLError) -> [[String?]] {
            guard !ended, !pending.isEmpty else { return [] }
            if format.kind == .csv, lineEnd(from: 0) == nil, quoteOpen(pending[...]) {
                throw SQLError(SQLState("22P04"), "unterminated CSV quoted field at line \(lineNumber + 1)")
            }
            let line = pending
            pending = []
            return try take(line).map { [$0] } ?? []
        }

        /// The index of the newline that ends the next row: in csv, not one inside quotes.
        private func lineEnd(from start: Int) -> Int? {
            guard format.kind == .csv else { return pending[start...].firstIndex(of: UInt8(ascii: "\n")) }
            var quoted = false
            var index = start
            while index < pending.count {
                let byte = pending[index]
                if quoted, byte == format.escapeCharacter, format.escapeCharacter != format.quoteCharacter,
                   index + 1 < pending.count {
                    index += 2
                    continue
                }
                if byte == format.quoteCharacter { quoted.toggle() }
                else if byte == UInt8(ascii: "\n"), !quoted { return index }
                index += 1
            }
            return nil
        }

        private func quoteOpen(_ bytes: ArraySlice<UInt8>) -> Bool {
            bytes.reduce(false) { open, byte in byte == format.quoteCharacter ? !open : open }
        }

        private mutating func take(_ line: [UInt8]) throws(SQLError) -> [String?]? {
            lineNumber += 1
            if skipHeader {
                skipHeader = false
                return nil
            }
            if line == [UInt8(ascii: "\\"), UInt8(ascii: ".")] {
                ended = true
                return nil
            }
            return format.kind == .csv ? try csvFields(line) : try textFields(line)
        }

        private func textFields(_ line: [UInt8]) throws(SQLError) -> [String?] {
            var fields: [String?] = []
            var field: [UInt8] = []
            var raw: [UInt8] = []
            var index = 0
            func endField() {
                fields.append(raw == Array(format.nullString.utf8) ? nil : String(decoding: field, as: UTF8.self))
                field = []
                raw = []
            }
            while index < line.count {
                let byte = line[index]
                if byte == format.fieldDelimiter {
                    endField()
                    index += 1
                    continue
                }
                raw.append(byte)
                guard byte == UInt8(ascii: "\\"), index + 1 < line.count else {
                    field.append(byte)
                    index += 1
                    continue
                }
                let next = line[index + 1]
                raw.append(next)
                index += 2
                switch next {
                case UInt8(ascii: "n"): field.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "r"): field.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "t"): field.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "b"): field.append(0x08)
                case UInt8(ascii: "f"): field.append(0x0C)
                case UInt8(ascii: "v"): field.append(0x0B)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var value = Int(next - UInt8(ascii: "0"))
                    var digits = 1
                    while digits < 3, index < line.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(line[index]) {
                        value = value * 8 + Int(line[index] - UInt8(ascii: "0"))
                        raw.append(line[index])
                        index += 1
                        digits += 1
                    }
                    field.append(UInt8(truncatingIfNeeded: value))
                case UInt8(ascii: "x"):
                    var value = 0
                    var digits = 0
                    while digits < 2, index < line.count, let nibble = Self.hex(line[index]) {
                        value = value * 16 + nibble
                        raw.append(line[index])
                        index += 1
                        digits += 1
                    }
                    if digits == 0 { field.append(UInt8(ascii: "x")) } else { field.append(UInt8(value)) }
                default: field.append(next)
                }
            }
            endField()
            return fields
        }

        private static func hex(_ byte: UInt8) -> Int? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
            default: nil
            }
        }

        private func csvFields(_ line: [UInt8]) throws(SQLError) -> [String?] {
            var fields: [String?] = []
            var field: [UInt8] = []
            var wasQuoted = false
            var quoted = false
            var index = 0
            let null = Array(format.nullString.utf8)
            func endField() {
                fields.append(!wasQuoted && field == null ? nil : String(decoding: field, as: UTF8.self))
                field = []
                wasQuoted = false
            }
            while index < line.count {
                let byte = line[index]
                if quoted {
                    if byte == format.escapeCharacter, index + 1 < line.count,
                       line[index + 1] == format.quoteCharacter || line[index + 1] == format.escapeCharacter,
                       format.escapeCharacter != format.quoteCharacter || line[index + 1] == format.quoteCharacter {
                        field.append(line[index + 1])
                        index += 2
                        continue
                    }
                    if byte == format.quoteCharacter {
                        quoted = false
                    } else {
                        field.append(byte)
                    }
                } else if byte == format.quoteCharacter {
                    quoted = true
                    wasQuoted = true
                } else if byte == format.fieldDelimiter {
                    endField()
                } else {
                    field.append(byte)
                }
                index += 1
            }
            guard !quoted else { throw SQLError(SQLState("22P04"), "unterminated CSV quoted field at line \(lineNumber)") }
            endField()
            return fields
        }
    }
}
