import Crypto

/// Turns a value, fed in buffers, into named chunks and what its manifest needs: each chunk's
/// SHA-256 (its `ChunkID`), the value's size and the SHA-256 of the whole value. Memory stays
/// within one unfinished chunk however large the value. Pure.
public struct BlobSplitter {
    /// A chunk ready to store: its name and its plain bytes.
    public struct Piece: Sendable, Hashable {
        public let id: ChunkID
        public let bytes: [UInt8]
    }

    private var chunker: ContentDefinedChunker
    private var whole = SHA256()
    public private(set) var totalBytes = 0

    public init(limits: ContentDefinedChunker.Limits = .standard) {
        chunker = ContentDefinedChunker(limits: limits)
    }

    public var chunkLimits: ContentDefinedChunker.Limits { chunker.limits }

    /// Takes the next bytes of the value; returns the chunks they complete, in order.
    public mutating func feed(_ bytes: [UInt8]) -> [Piece] {
        whole.update(data: bytes)
        totalBytes += bytes.count
        return chunker.feed(bytes).map { Piece(id: ChunkID(of: $0), bytes: $0) }
    }

    /// The last chunk (nil for an empty value or when the value ended on a boundary), the value's
    /// size and its SHA-256.
    public mutating func finish() -> (last: Piece?, totalBytes: Int, sha256: [UInt8]) {
        let last = chunker.finish().map { Piece(id: ChunkID(of: $0), bytes: $0) }
        return (last, totalBytes, Array(whole.finalize()))
    }
}
