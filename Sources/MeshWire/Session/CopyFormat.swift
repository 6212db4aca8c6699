public import QueryPlanner

/// COPY's text, csv and binary formats ("COPY" in the PostgreSQL documentation, File Formats):
/// how rows become lines (or binary tuples) and back.
public struct CopyFormat: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case text, csv, binary }

    /// One row as COPY carries it: each field's bytes (text or binary by the format), nil for NULL.
    public typealias Row = [[UInt8]?]

    /// The wire format code of the fields: 1 for binary, 0 otherwise.
    public var fieldFormat: Int16 { kind == .binary ? 1 : 0 }

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
            case .text, .binary:  // binary rows never come here (`binaryTuple`)
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

    // MARK: Binary format

    /// "PGCOPY\n\377\r\n\0": the signature that opens a binary COPY stream.
    static let binarySignature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    /// The signature, flags 0 (no OIDs) and an empty header extension.
    public static let binaryHeader: [UInt8] = binarySignature + [0, 0, 0, 0] + [0, 0, 0, 0]

    /// A field count of -1 ends a binary stream.
    public static let binaryTrailer: [UInt8] = [0xFF, 0xFF]

    /// One row as a binary tuple: the field count, then each field's length (-1 for NULL) and bytes.
    public static func binaryTuple(_ fields: Row) -> [UInt8] {
        var tuple: [UInt8] = []
        tuple.reserveCapacity(2 + fields.reduce(0) { $0 + 4 + ($1?.count ?? 0) })
        withUnsafeBytes(of: Int16(fields.count).bigEndian) { tuple.append(contentsOf: $0) }
        for field in fields {
            withUnsafeBytes(of: Int32(field?.count ?? -1).bigEndian) { tuple.append(contentsOf: $0) }
            if let field { tuple.append(contentsOf: field) }
        }
        return tuple
    }

    // MARK: Decoding (COPY FROM)

    /// Cuts the CopyData stream into rows. Bytes arrive in arbitrary pieces (a row may span two
    /// CopyData messages, and in csv a quoted field may span lines), so it keeps the unfinished
    /// row; `rowBytesMax` bounds it. Text and csv fields come out as UTF-8 text, binary fields as
    /// sent (`fieldFormat` says which).
    public struct Decoder: Sendable {
        public let format: CopyFormat
        public let rowBytesMax: Int
        private var pending: [UInt8] = []
        private var skipHeader: Bool
        /// Set by the text format's end-of-data marker `\.` or the binary trailer: later bytes
        /// are ignored.
        public private(set) var ended = false
        /// Lines (binary: rows) consumed so far, for error messages ("line 3").
        public private(set) var lineNumber = 0
        /// Binary format: whether the signature and header have been read.
        private var binaryHeaderRead = false

        public init(format: CopyFormat, rowBytesMax: Int) {
            self.format = format
            self.rowBytesMax = rowBytesMax
            self.skipHeader = format.header
        }

        /// The rows completed by `bytes`.
        public mutating func append(_ bytes: [UInt8]) throws(SQLError) -> [Row] {
            guard !ended else { return [] }
            pending.append(contentsOf: bytes)
            if format.kind == .binary { return try binaryRows() }
            var rows: [Row] = []
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
        public mutating func finish() throws(SQLError) -> [Row] {
            if format.kind == .binary, !ended {
                guard binaryHeaderRead else { throw SQLError(SQLState("22P04"), "COPY file signature not recognized") }
                guard pending.isEmpty else {
                    throw SQLError(SQLState("22P04"), "unexpected end of binary COPY data in row \(lineNumber + 1)")
                }
            }
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

        private mutating func take(_ line: [UInt8]) throws(SQLError) -> Row? {
            lineNumber += 1
            if skipHeader {
                skipHeader = false
                return nil
            }
            if line == [UInt8(ascii: "\\"), UInt8(ascii: ".")] {
                ended = true
                return nil
            }
            let fields = format.kind == .csv ? try csvFields(line) : try textFields(line)
            return fields.map { $0.map { Array($0.utf8) } }
        }

        /// The complete binary tuples in `pending` (after the header, read first), up to the
        /// trailer; an incomplete tuple waits for more bytes.
        private mutating func binaryRows() throws(SQLError) -> [Row] {
            func int16(at offset: Int) -> Int16 { Int16(bitPattern: UInt16(pending[offset]) << 8 | UInt16(pending[offset + 1])) }
            func int32(at offset: Int) -> Int32 {
                Int32(bitPattern: UInt32(pending[offset]) << 24 | UInt32(pending[offset + 1]) << 16 | UInt32(pending[offset + 2]) << 8 | UInt32(pending[offset + 3]))
            }
            var start = 0
            if !binaryHeaderRead {
                let fixed = CopyFormat.binarySignature.count + 8
                if pending.count >= CopyFormat.binarySignature.count,
                   !pending[..<CopyFormat.binarySignature.count].elementsEqual(CopyFormat.binarySignature) {
                    throw SQLError(SQLState("22P04"), "COPY file signature not recognized")
                }
                guard pending.count >= fixed else { return [] }
                let flags = UInt32(bitPattern: int32(at: CopyFormat.binarySignature.count))
                guard flags & (1 << 16) == 0 else {
                    throw SQLError(.featureNotSupported, "binary COPY with OIDs is not supported")
                }
                guard flags & 0xFFFE_0000 == 0 else {
                    throw SQLError(SQLState("22P04"), "unrecognized critical flags in COPY file header")
                }
                let extensionLength = Int(int32(at: CopyFormat.binarySignature.count + 4))
                guard extensionLength >= 0, extensionLength <= rowBytesMax else {
                    throw SQLError(SQLState("22P04"), "invalid COPY file header (extension length \(extensionLength))")
                }
                guard pending.count >= fixed + extensionLength else { return [] }
                start = fixed + extensionLength
                binaryHeaderRead = true
            }
            var rows: [Row] = []
            tuples: while pending.count - start >= 2 {
                let count = Int(int16(at: start))
                if count == -1 {
                    ended = true
                    start = pending.count
                    break
                }
                guard count >= 0 else {
                    throw SQLError(SQLState("22P04"), "invalid field count \(count) in binary COPY row \(lineNumber + 1)")
                }
                var cursor = start + 2
                var fields: Row = []
                fields.reserveCapacity(count)
                for _ in 0..<count {
                    guard pending.count - cursor >= 4 else { break tuples }
                    let length = Int(int32(at: cursor))
                    cursor += 4
                    if length == -1 {
                        fields.append(nil)
                        continue
                    }
                    guard length >= 0 else {
                        throw SQLError(SQLState("22P04"), "invalid field length \(length) in binary COPY row \(lineNumber + 1)")
                    }
                    guard length <= rowBytesMax else {
                        throw SQLError(.programLimitExceeded,
                                       "COPY row \(lineNumber + 1) exceeds copy_row_bytes_max = \(rowBytesMax)")
                    }
                    guard pending.count - cursor >= length else { break tuples }
                    fields.append(Array(pending[cursor..<cursor + length]))
                    cursor += length
                }
                lineNumber += 1
                rows.append(fields)
                start = cursor
            }
            pending.removeFirst(start)
            guard pending.count <= rowBytesMax else {
                throw SQLError(.programLimitExceeded, "COPY row \(lineNumber + 1) exceeds copy_row_bytes_max = \(rowBytesMax)")
            }
            return rows
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
