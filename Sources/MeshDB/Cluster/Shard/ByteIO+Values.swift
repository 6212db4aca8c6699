import Consensus

/// Text and SQLite values on top of Consensus's fixed-layout codec, shared by the shard and
/// catalog state machines. Text is length-prefixed UTF-8 and is validated on read: a faulty
/// client must get a decode error, not a string that differs by replacement characters.
extension ByteWriter {
    mutating func writeText(_ text: String) {
        writeBytes(Array(text.utf8))
    }

    mutating func write(_ value: SQLiteValue) {
        switch value {
        case .null:
            write(UInt8(0))
        case .integer(let number):
            write(UInt8(1))
            write(UInt64(bitPattern: number))
        case .real(let number):
            write(UInt8(2))
            write(number.bitPattern)
        case .text(let text):
            write(UInt8(3))
            writeText(text)
        case .blob(let bytes):
            write(UInt8(4))
            writeBytes(bytes)
        }
    }
}

extension SQLiteValue {
    /// The bytes `ByteWriter.write(_:)` takes for this value: a tag, then 8 bytes for a number
    /// or a 4-byte length and the bytes for text and blobs. Lets a reader bound a result by its
    /// encoded size while collecting it, before encoding anything.
    var encodedByteCount: Int {
        switch self {
        case .null: 1
        case .integer, .real: 9
        case .text(let text): 5 + text.utf8.count
        case .blob(let bytes): 5 + bytes.count
        }
    }
}

extension ByteReader {
    mutating func readText(_ field: String, bytesMax: Int) throws(DecodeError) -> String {
        let bytes = try readBytes(field, limit: bytesMax)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidValue(field: field, reason: "not valid UTF-8")
        }
        return text
    }

    mutating func readValue(_ field: String, textBytesMax: Int, blobBytesMax: Int) throws(DecodeError) -> SQLiteValue {
        switch try readU8(field) {
        case 0: return .null
        case 1: return .integer(Int64(bitPattern: try readU64(field)))
        case 2: return .real(Double(bitPattern: try readU64(field)))
        case 3: return .text(try readText(field, bytesMax: textBytesMax))
        case 4: return .blob(try readBytes(field, limit: blobBytesMax))
        case let tag: throw .unknownTag(field: field, tag: tag)
        }
    }

    /// A count of items that each take at least `bytesEach` encoded bytes: bounded by `limit` and
    /// by what is left, so a forged count can never make the decoder reserve memory for nothing.
    mutating func readCount(_ field: String, limit: Int, bytesEach: Int) throws(DecodeError) -> Int {
        let count = try readCount(field, limit: limit)
        guard count <= remaining / max(1, bytesEach) else {
            throw .truncated(field: field, needed: count * max(1, bytesEach), available: remaining)
        }
        return count
    }
}

extension ByteReader {
    /// Reads the version byte every MeshDB encoding starts with and refuses any other version,
    /// naming the field: a node never guesses at a format it does not know.
    mutating func expectFormatVersion(_ expected: UInt8, _ field: String) throws(DecodeError) {
        let version = try readU8(field)
        guard version == expected else {
            throw .invalidValue(field: field, reason: "\(version), expected \(expected)")
        }
    }
}
