import Crypto

/// A chunk's name: the SHA-256 of its plain (uncompressed) bytes. Two nodes holding a chunk of
/// the same name hold the same bytes, or one of them is lying and its hash check shows it.
public struct ChunkID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(of plain: [UInt8]) {
        bytes = Array(SHA256.hash(data: plain))
    }

    /// A name read from a manifest or a request: exactly 32 bytes, else nil.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 lowercase or uppercase hex digits; nil for anything else.
    public init?(hex text: String) {
        guard let parsed = parseHex(text), parsed.count == 32 else { return nil }
        bytes = parsed
    }

    public var hex: String { MeshDB.hex(bytes) }

    public var description: String { hex }

    public static func < (lhs: ChunkID, rhs: ChunkID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
