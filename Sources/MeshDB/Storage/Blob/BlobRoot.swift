/// What a name (a `mesh_blobs` entry, later a row) keeps for a stored value: its manifest itself
/// when that is small (`direct`), or, for a value of more than `manifest_chunks_max` chunks, a
/// summary and the manifest *of the manifest* (`indirect`): the full chunk list is stored as a
/// value of its own, in chunks like any other, and read before the data.
///
/// Encoding: a direct root is the manifest's version-1 encoding. An indirect root is version 2,
/// integers big-endian:
///
///     bytes 0-3    magic "MSHB"
///     byte  4      format version (2)
///     bytes 5-12   total plain bytes of the value (u64)
///     bytes 13-44  SHA-256 of the value
///     bytes 45-48  data chunk count (u32)
///     bytes 49-56  stored bytes of the distinct data chunks (u64)
///     then         the index: the version-1 manifest of the full manifest's encoding
public enum BlobRoot: Sendable, Hashable {
    case direct(BlobManifest)
    case indirect(Indirect)

    public struct Indirect: Sendable, Hashable {
        public let totalBytes: Int
        public let sha256: [UInt8]
        public let chunkCount: Int
        public let storedBytes: Int
        /// The manifest of the full manifest's encoding.
        public let index: BlobManifest
    }

    public struct Limits: Sendable, Hashable {
        /// A direct root's chunks, at most (manifest_chunks_max): a root travels in one catalog
        /// command, and more chunks go behind an index.
        public var direct = BlobManifest.Limits()
        /// The data chunks behind an index, at most (indexed_chunks_max): 2^20 chunks of ~1 MiB
        /// is about 1 TiB, and its full manifest (40 MiB) is what a reader holds in memory.
        public var indexedChunksMax = 1 << 20

        public init() {}

        /// Limits for decoding a full manifest read through an index.
        var full: BlobManifest.Limits {
            var limits = direct
            limits.chunksMax = indexedChunksMax
            return limits
        }
    }

    static let indirectVersion: UInt8 = 2
    static let indirectHeaderBytes = 57

    public var totalBytes: Int {
        switch self {
        case .direct(let manifest): manifest.totalBytes
        case .indirect(let indirect): indirect.totalBytes
        }
    }

    public var sha256: [UInt8] {
        switch self {
        case .direct(let manifest): manifest.sha256
        case .indirect(let indirect): indirect.sha256
        }
    }

    public var sha256Hex: String { hex(sha256) }

    /// Data chunks of the value.
    public var chunkCount: Int {
        switch self {
        case .direct(let manifest): manifest.chunks.count
        case .indirect(let indirect): indirect.chunkCount
        }
    }

    /// What one copy of the value's distinct data chunks takes after LZ4.
    public var storedBytes: Int {
        switch self {
        case .direct(let manifest): manifest.storedBytes
        case .indirect(let indirect): indirect.storedBytes
        }
    }

    /// An indirect root for `full`, whose encoding was stored as the value `index` describes.
    public init(full: BlobManifest, index: BlobManifest, limits: Limits = Limits()) throws(BlobError) {
        guard full.chunks.count <= limits.indexedChunksMax else {
            throw .limit("a blob of \(full.chunks.count) chunks exceeds indexed_chunks_max = \(limits.indexedChunksMax)")
        }
        guard index.totalBytes == BlobManifest.encodedBytes(chunks: full.chunks.count) else {
            throw .invalidManifest("the index describes \(index.totalBytes) bytes, not the \(BlobManifest.encodedBytes(chunks: full.chunks.count)) of a manifest of \(full.chunks.count) chunks")
        }
        self = .indirect(Indirect(totalBytes: full.totalBytes, sha256: full.sha256, chunkCount: full.chunks.count,
                                  storedBytes: full.storedBytes, index: index))
    }

    public func encoded() -> [UInt8] {
        switch self {
        case .direct(let manifest):
            return manifest.encoded()
        case .indirect(let indirect):
            var bytes = BlobManifest.magic + [Self.indirectVersion]
            bytes += UInt64(indirect.totalBytes).bigEndianBytes
            bytes += indirect.sha256
            bytes += UInt32(indirect.chunkCount).bigEndianBytes
            bytes += UInt64(indirect.storedBytes).bigEndianBytes
            return bytes + indirect.index.encoded()
        }
    }

    /// Decodes untrusted bytes of either version.
    public init(decoding bytes: [UInt8], limits: Limits = Limits()) throws(BlobError) {
        guard bytes.count > 4, bytes[4] == Self.indirectVersion else {
            self = .direct(try BlobManifest(decoding: bytes, limits: limits.direct))
            return
        }
        guard bytes.count >= Self.indirectHeaderBytes, Array(bytes[0..<4]) == BlobManifest.magic else {
            throw .invalidManifest("\(bytes.count) bytes do not hold an indirect root's \(Self.indirectHeaderBytes)-byte header")
        }
        let total = bytes.readBigEndianUInt64(at: 5)
        let stored = bytes.readBigEndianUInt64(at: 49)
        guard total <= UInt64(Int.max), stored <= UInt64(Int.max) else { throw .invalidManifest("impossible sizes in an indirect root") }
        let count = Int(bytes.readUInt32(at: 45))
        guard count >= 1, count <= limits.indexedChunksMax else {
            throw .limit("an indirect root of \(count) chunks is outside 1...indexed_chunks_max = \(limits.indexedChunksMax)")
        }
        let index = try BlobManifest(decoding: Array(bytes[Self.indirectHeaderBytes...]), limits: limits.direct)
        guard index.totalBytes == BlobManifest.encodedBytes(chunks: count) else {
            throw .invalidManifest("the index describes \(index.totalBytes) bytes, not the \(BlobManifest.encodedBytes(chunks: count)) of a manifest of \(count) chunks")
        }
        self = .indirect(Indirect(totalBytes: Int(total), sha256: Array(bytes[13..<45]), chunkCount: count, storedBytes: Int(stored), index: index))
    }

    /// The full manifest an indirect root's index was read into: checked against the root's
    /// summary, so an index that names other bytes cannot pass for this value's.
    public func full(from encoding: [UInt8], limits: Limits = Limits()) throws(BlobError) -> BlobManifest {
        guard case .indirect(let indirect) = self else { preconditionFailure("only an indirect root has an index") }
        let full = try BlobManifest(decoding: encoding, limits: limits.full)
        guard full.totalBytes == indirect.totalBytes, full.sha256 == indirect.sha256, full.chunks.count == indirect.chunkCount else {
            throw .mismatch("the manifest read through the index does not match its root (size, SHA-256 or chunk count)")
        }
        return full
    }
}

extension BlobRoot {
    /// Roots keyed by their encodings, one each, in the order of the encodings: the same list on
    /// every node, whatever order the dictionary holds them in.
    static func inEncodingOrder(_ byEncoding: [[UInt8]: BlobRoot]) -> [BlobRoot] {
        byEncoding.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { byEncoding[$0]! }
    }
}
