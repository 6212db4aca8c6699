import Crypto

/// What a stored blob is made of: its size, the SHA-256 of the whole value, and its chunks in
/// order. The manifest is what a row (or a `mesh_blobs` entry) keeps in place of the bytes; the
/// chunks themselves live in the chunk stores of R nodes each (../shared/DESIGN.md, "Blob").
///
/// Binary encoding, version 1 (integers big-endian, like the chunk file header):
///
///     bytes 0-3    magic "MSHB"
///     byte  4      format version (1)
///     bytes 5-12   total plain bytes (u64)
///     bytes 13-44  SHA-256 of the whole value
///     bytes 45-48  chunk count (u32)
///     then per chunk, 40 bytes:
///         32 bytes  chunk id (SHA-256 of the chunk's plain bytes)
///         u32       plain bytes
///         u32       stored bytes (the LZ4 or raw payload on one node, header excluded)
///
/// One encoding per manifest: decoding checks every rule `init(validating:)` does, so a manifest
/// that decodes re-encodes to the same bytes.
public struct BlobManifest: Sendable, Hashable {
    public struct Chunk: Sendable, Hashable {
        public let id: ChunkID
        public let plainBytes: Int
        /// Informational (`meshdb blob ls`): how much a copy takes on disk.
        public let storedBytes: Int

        public init(id: ChunkID, plainBytes: Int, storedBytes: Int) {
            self.id = id
            self.plainBytes = plainBytes
            self.storedBytes = storedBytes
        }
    }

    public struct Limits: Sendable, Hashable {
        /// Most chunks in one manifest. 1,500 chunks of 40 bytes keep an encoded manifest (60 KB)
        /// inside one catalog command (command_bytes_max = 64 KiB); at the ~1 MiB average that is
        /// about 1.5 GiB per blob until manifests can point at manifests.
        public var chunksMax = 1_500
        /// The largest chunk a manifest may list: the chunker's largest (chunk_max_bytes).
        public var chunkBytesMax = ContentDefinedChunker.Limits.standard.maxBytes

        public init() {}
    }

    public let totalBytes: Int
    public let sha256: [UInt8]
    public let chunks: [Chunk]

    static let magic: [UInt8] = Array("MSHB".utf8)
    static let formatVersion: UInt8 = 1
    static let headerBytes = 49
    static let chunkEntryBytes = 40

    /// A manifest, checked: `totalBytes` is the sum of the chunks' sizes, every chunk has 1 to
    /// `chunkBytesMax` bytes, and there are at most `chunksMax` chunks.
    public init(totalBytes: Int, sha256: [UInt8], chunks: [Chunk], limits: Limits = Limits()) throws(BlobError) {
        guard sha256.count == 32 else { throw .invalidManifest("the value's SHA-256 has \(sha256.count) bytes, not 32") }
        guard chunks.count <= limits.chunksMax else {
            throw .limit("a blob of \(chunks.count) chunks exceeds manifest_chunks_max = \(limits.chunksMax)")
        }
        var sum = 0
        for (position, chunk) in chunks.enumerated() {
            guard (1...limits.chunkBytesMax).contains(chunk.plainBytes) else {
                throw .invalidManifest("chunk \(position) has \(chunk.plainBytes) bytes; chunks have 1 to chunk_max_bytes = \(limits.chunkBytesMax)")
            }
            guard chunk.storedBytes >= 0, chunk.storedBytes <= UInt32.max else {
                throw .invalidManifest("chunk \(position) claims \(chunk.storedBytes) stored bytes")
            }
            sum += chunk.plainBytes
        }
        guard sum == totalBytes else {
            throw .invalidManifest("the chunks hold \(sum) bytes but the manifest says \(totalBytes)")
        }
        // An empty value has no chunks; its hash is still the SHA-256 of nothing.
        if chunks.isEmpty, sha256 != Array(SHA256.hash(data: [UInt8]())) {
            throw .invalidManifest("an empty blob's SHA-256 must be that of no bytes")
        }
        self.totalBytes = totalBytes
        self.sha256 = sha256
        self.chunks = chunks
    }

    /// The size of the encoding of a manifest of `chunks` chunks.
    static func encodedBytes(chunks: Int) -> Int { headerBytes + chunks * chunkEntryBytes }

    /// The chunks' ids, each once, in ascending order.
    public var distinctChunkIDs: [ChunkID] { Array(Set(chunks.map(\.id))).sorted() }

    /// Bytes a copy of each distinct chunk takes: what one replica stores for this blob alone.
    public var storedBytes: Int {
        var seen = Set<ChunkID>()
        return chunks.reduce(0) { total, chunk in seen.insert(chunk.id).inserted ? total + chunk.storedBytes : total }
    }

    public var sha256Hex: String { hex(sha256) }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerBytes + chunks.count * Self.chunkEntryBytes)
        bytes.append(Self.formatVersion)
        bytes += UInt64(totalBytes).bigEndianBytes
        bytes += sha256
        bytes += UInt32(chunks.count).bigEndianBytes
        for chunk in chunks {
            bytes += chunk.id.bytes
            bytes += UInt32(chunk.plainBytes).bigEndianBytes
            bytes += UInt32(chunk.storedBytes).bigEndianBytes
        }
        return bytes
    }

    /// Decodes untrusted bytes: every count is checked against `limits` before anything is
    /// allocated for it.
    public init(decoding bytes: [UInt8], limits: Limits = Limits()) throws(BlobError) {
        guard bytes.count >= Self.headerBytes else {
            throw .invalidManifest("\(bytes.count) bytes is shorter than the \(Self.headerBytes)-byte manifest header")
        }
        guard Array(bytes[0..<4]) == Self.magic else { throw .invalidManifest("bad magic: not a blob manifest") }
        guard bytes[4] == Self.formatVersion else {
            throw .invalidManifest("unknown manifest format version \(bytes[4]) (this node reads \(Self.formatVersion))")
        }
        let total = bytes.readBigEndianUInt64(at: 5)
        guard total <= UInt64(Int.max) else { throw .invalidManifest("impossible total size \(total)") }
        let count = Int(bytes.readUInt32(at: 45))
        guard count <= limits.chunksMax else {
            throw .limit("a blob of \(count) chunks exceeds manifest_chunks_max = \(limits.chunksMax)")
        }
        guard bytes.count == Self.headerBytes + count * Self.chunkEntryBytes else {
            throw .invalidManifest("\(bytes.count) bytes do not hold the header and \(count) chunk entries of \(Self.chunkEntryBytes) bytes")
        }
        var chunks: [Chunk] = []
        chunks.reserveCapacity(count)
        for position in 0..<count {
            let offset = Self.headerBytes + position * Self.chunkEntryBytes
            guard let id = ChunkID(bytes: Array(bytes[offset..<offset + 32])) else { preconditionFailure("32 bytes make a chunk id") }
            chunks.append(Chunk(id: id, plainBytes: Int(bytes.readUInt32(at: offset + 32)),
                                storedBytes: Int(bytes.readUInt32(at: offset + 36))))
        }
        try self.init(totalBytes: Int(total), sha256: Array(bytes[13..<45]), chunks: chunks, limits: limits)
    }
}

/// Why a blob operation failed. Every limit is named as in docs/blobs.md.
public enum BlobError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidManifest(String)
    case limit(String)
    /// A value's bytes do not match what its manifest says (size or SHA-256).
    case mismatch(String)
    /// Too few nodes answered to store or read the blob.
    case unavailable(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidManifest(let reason): "invalid blob manifest: \(reason)"
        case .limit(let reason): reason
        case .mismatch(let reason): reason
        case .unavailable(let reason): reason
        case .notFound(let reason): reason
        }
    }

    /// The same error with its message prefixed by `subject` ("blob \"x\": ...").
    public func about(_ subject: String) -> BlobError {
        switch self {
        case .invalidManifest(let reason): .invalidManifest("\(subject): \(reason)")
        case .limit(let reason): .limit("\(subject): \(reason)")
        case .mismatch(let reason): .mismatch("\(subject): \(reason)")
        case .unavailable(let reason): .unavailable("\(subject): \(reason)")
        case .notFound(let reason): .notFound("\(subject): \(reason)")
        }
    }

    /// The SQLSTATE a client sees.
    public var sqlState: String {
        switch self {
        case .invalidManifest: "22P03"  // invalid_binary_representation
        case .limit: "54000"  // program_limit_exceeded
        case .mismatch: "XX001"  // data_corrupted
        case .unavailable: "57P03"  // cannot_connect_now
        case .notFound: "58P01"  // undefined_file
        }
    }
}

extension [UInt8] {
    func readBigEndianUInt64(at offset: Int) -> UInt64 {
        self[offset..<offset + 8].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}

extension UInt64 {
    var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64($0))) } }
}
