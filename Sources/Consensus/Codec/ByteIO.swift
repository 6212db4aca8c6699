/// Appends little-endian fixed-width integers and length-prefixed byte strings. The layout is
/// fixed, so equal values always give equal bytes (DESIGN.md, Determinism).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    private static let zeros = [UInt8](repeating: 0, count: 512)

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    // Fixed-width values go in byte by byte: appending a 4- or 8-byte buffer takes the generic
    // sequence path (a memmove call per field), which cost more than the fields themselves in
    // the many small frames of the normal case.
    public mutating func write(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    public mutating func write(_ value: UInt64) {
        write(UInt32(truncatingIfNeeded: value))
        write(UInt32(truncatingIfNeeded: value >> 32))
    }

    public mutating func write(_ digest: Digest) {
        withUnsafeBytes(of: (digest.w0, digest.w1, digest.w2, digest.w3)) { bytes.append(contentsOf: $0) }
    }

    /// A u32 length then the bytes.
    public mutating func writeBytes(_ value: [UInt8]) {
        write(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeRaw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// Appends a run of `count` bytes of fixed-width fields in one step: one capacity and one
    /// uniqueness check for the run instead of one per byte, which is what most of a small
    /// frame is made of. `body` must write exactly `count` bytes (checked).
    mutating func writeFields(_ count: Int, _ body: (inout FieldWriter) -> Void) {
        let start = bytes.count
        // Copied from a block of zeros (one memcpy) rather than `repeatElement` (a byte at a time).
        if count <= Self.zeros.count {
            bytes.append(contentsOf: Self.zeros[..<count])
        } else {
            bytes.append(contentsOf: repeatElement(0, count: count))
        }
        bytes.withUnsafeMutableBytes { all in
            var fields = FieldWriter(UnsafeMutableRawBufferPointer(rebasing: all[start..<(start + count)]))
            body(&fields)
            precondition(fields.offset == count, "a field run wrote \(fields.offset) of its \(count) bytes")
        }
    }

    /// Overwrites four bytes written earlier (a length known only afterwards).
    public mutating func patch(_ value: UInt32, at offset: Int) {
        precondition(offset + 4 <= bytes.count, "patching past the end of the written bytes")
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }
}

/// Writes fixed-width little-endian fields into bytes `ByteWriter.writeFields` reserved; only
/// valid inside that call.
struct FieldWriter {
    private let raw: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ raw: UnsafeMutableRawBufferPointer) {
        self.raw = raw
    }

    private mutating func store<T: FixedWidthInteger>(_ value: T) {
        precondition(offset + MemoryLayout<T>.size <= raw.count, "a field run wrote past its reserved bytes")
        raw.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func write(_ value: UInt8) { store(value) }
    mutating func write(_ value: UInt32) { store(value) }
    mutating func write(_ value: UInt64) { store(value) }

    /// The 32 bytes in the order they were hashed out (as `ByteWriter.write(_: Digest)`).
    mutating func write(_ digest: Digest) {
        precondition(offset + 32 <= raw.count, "a field run wrote past its reserved bytes")
        withUnsafeBytes(of: (digest.w0, digest.w1, digest.w2, digest.w3)) { words in
            UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + 32)]).copyMemory(from: words)
        }
        offset += 32
    }
}

/// Why untrusted bytes could not be decoded. Every case names the field and, for limits, the
/// limit that was hit; decoding never traps on bad input (STYLE.md §3).
public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(field: String, needed: Int, available: Int)
    case limitExceeded(field: String, count: Int, limit: Int)
    case unknownTag(field: String, tag: UInt8)
    case invalidValue(field: String, reason: String)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available):
            "truncated message: \(field) needs \(needed) bytes, \(available) left"
        case .limitExceeded(let field, let count, let limit):
            "\(field) is \(count), above the limit of \(limit)"
        case .unknownTag(let field, let tag):
            "unknown \(field) tag \(tag)"
        case .invalidValue(let field, let reason):
            "invalid \(field): \(reason)"
        case .trailingBytes(let count):
            "\(count) unexpected bytes after the message"
        }
    }
}

/// Reads what `ByteWriter` wrote, throwing `DecodeError` on anything short or oversized.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    private mutating func need(_ count: Int, _ field: String) throws(DecodeError) {
        guard count <= remaining else {
            throw .truncated(field: field, needed: count, available: remaining)
        }
    }

    public mutating func readU8(_ field: String) throws(DecodeError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBool(_ field: String) throws(DecodeError) -> Bool {
        switch try readU8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field, reason: "boolean byte \(other)")
        }
    }

    public mutating func readU32(_ field: String) throws(DecodeError) -> UInt32 {
        try need(4, field)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        offset += 4
        return UInt32(littleEndian: value)
    }

    public mutating func readU64(_ field: String) throws(DecodeError) -> UInt64 {
        try need(8, field)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        offset += 8
        return UInt64(littleEndian: value)
    }

    public mutating func readDigest(_ field: String) throws(DecodeError) -> Digest {
        try need(32, field)
        let digest = bytes.withUnsafeBytes { raw in
            Digest(
                w0: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
                w1: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self),
                w2: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self),
                w3: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        }
        offset += 32
        return digest
    }

    /// A count prefix, checked against `limit` before anything is allocated.
    public mutating func readCount(_ field: String, limit: Int) throws(DecodeError) -> Int {
        let count = Int(try readU32(field))
        guard count <= limit else { throw .limitExceeded(field: field, count: count, limit: limit) }
        return count
    }

    public mutating func readBytes(_ field: String, limit: Int) throws(DecodeError) -> [UInt8] {
        let count = try readCount(field, limit: limit)
        try need(count, field)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A replica index, which must name a member of the group.
    public mutating func readReplica(_ field: String, replicaCountMax: Int) throws(DecodeError) -> Int {
        let index = Int(try readU32(field))
        guard index < replicaCountMax else {
            throw .limitExceeded(field: field, count: index, limit: replicaCountMax - 1)
        }
        return index
    }

    public func finish() throws(DecodeError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}
