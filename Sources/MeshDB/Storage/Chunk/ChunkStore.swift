import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed store of chunks on one node's disk: the unstructured half of the data mesh.
///
/// Layout under `directory`: `chunks/ab/<64 hex digits>` per chunk (fanned out by the first byte)
/// and `tmp/` for writes in progress. A chunk file is a 16-byte header and the payload:
///
///     bytes 0-3   magic "MSHC"
///     byte  4     format version (1)
///     byte  5     encoding: 0 raw, 1 LZ4 block
///     bytes 6-7   zero
///     bytes 8-15  plain length, big-endian
///
/// Every read decodes and checks the SHA-256 against the chunk's name; a mismatch is reported as
/// corruption naming the chunk, never returned as data. Safe to use from many threads at once.
public final class ChunkStore: Sendable {
    public struct Stats: Sendable, Hashable {
        public var chunkCount = 0
        /// Plain bytes of all chunks.
        public var logicalBytes = 0
        /// Bytes of the chunk files on disk, headers included.
        public var storedBytes = 0
    }

    public enum Encoding: UInt8, Sendable {
        case raw = 0
        case lz4 = 1
    }

    /// What `put` did.
    public struct PutResult: Sendable, Hashable {
        public let id: ChunkID
        /// False when the chunk was already stored (deduplicated).
        public let stored: Bool
        public let encoding: Encoding?
    }

    static let headerBytes = 16
    static let magic: [UInt8] = Array("MSHC".utf8)
    static let formatVersion: UInt8 = 1

    public let directory: String
    /// The largest chunk accepted: 64 MiB by default, far above the ~1 MiB that chunking produces.
    public let chunkBytesMax: Int
    private let stats: Mutex<Stats>
    private let temporaryCounter = Atomic<UInt64>(0)

    public init(directory: String, chunkBytesMax: Int = 64 << 20) throws(ChunkStoreError) {
        precondition(chunkBytesMax > 0 && chunkBytesMax <= LZ4Block.inputBytesMax)
        self.directory = directory
        self.chunkBytesMax = chunkBytesMax
        var scanned = Stats()
        do {
            try DurableFile.ensureDirectory(directory)
            try DurableFile.ensureDirectory(directory + "/chunks")
            try DurableFile.ensureDirectory(directory + "/tmp")
            // Writes that a crash interrupted never became visible; their files go now.
            for name in try DurableFile.list(directory + "/tmp") {
                try DurableFile.remove(directory + "/tmp/" + name)
            }
            for fan in try DurableFile.list(directory + "/chunks") {
                for name in try DurableFile.list(directory + "/chunks/" + fan) where ChunkID(hex: name) != nil {
                    let (header, fileSize) = try DurableFile.readPrefix(directory + "/chunks/\(fan)/\(name)", count: Self.headerBytes)
                    scanned.chunkCount += 1
                    scanned.storedBytes += fileSize
                    scanned.logicalBytes += (try? Self.parseHeader(header).plainBytes) ?? 0
                }
            }
        } catch {
            throw .io(error.description)
        }
        stats = Mutex(scanned)
    }

    public var currentStats: Stats { stats.withLock { $0 } }

    /// Stores `plain` under its SHA-256 unless a chunk of that name exists already.
    /// Durable on return: the chunk survives a crash from then on.
    @discardableResult
    public func put(_ plain: [UInt8]) throws(ChunkStoreError) -> PutResult {
        guard plain.count <= chunkBytesMax else {
            throw .tooLarge(bytes: plain.count, limit: chunkBytesMax)
        }
        let id = ChunkID(of: plain)
        let path = self.path(of: id)
        if DurableFile.exists(path) { return PutResult(id: id, stored: false, encoding: nil) }
        let compressed = LZ4Block.compressIfSmaller(plain)
        let encoding: Encoding = compressed == nil ? .raw : .lz4
        let payload = compressed ?? plain
        let header = Self.header(encoding: encoding, plainBytes: plain.count)
        let sequence = temporaryCounter.add(1, ordering: .relaxed).newValue
        let temporaryPath = "\(directory)/tmp/\(id.hex).\(getpid()).\(sequence)"
        let created: Bool
        do {
            try DurableFile.ensureDirectory(directory + "/chunks/" + id.hex.prefix(2))
            created = try DurableFile.createAtomically(header, payload, at: path, temporaryPath: temporaryPath)
        } catch {
            throw .io(error.description)
        }
        guard created else { return PutResult(id: id, stored: false, encoding: nil) }
        stats.withLock {
            $0.chunkCount += 1
            $0.logicalBytes += plain.count
            $0.storedBytes += Self.headerBytes + payload.count
        }
        return PutResult(id: id, stored: true, encoding: encoding)
    }

    /// The plain bytes of chunk `id`, checked against its hash.
    public func get(_ id: ChunkID) throws(ChunkStoreError) -> [UInt8] {
        let path = self.path(of: id)
        let file: [UInt8]
        do {
            // A stored chunk is never larger than its header and the raw payload.
            file = try DurableFile.read(path, bytesMax: Self.headerBytes + chunkBytesMax)
        } catch {
            if error.errno == ENOENT { throw .notFound(id) }
            if error.errno == EFBIG { throw .corrupt(id, reason: "file is larger than any chunk this store writes") }
            throw .io(error.description)
        }
        let header: (encoding: Encoding, plainBytes: Int)
        do {
            header = try Self.parseHeader(file)
        } catch {
            throw .corrupt(id, reason: error.reason)
        }
        guard header.plainBytes <= chunkBytesMax else {
            throw .corrupt(id, reason: "header claims \(header.plainBytes) bytes, above chunk_bytes_max = \(chunkBytesMax)")
        }
        let payload = file[Self.headerBytes...]
        let plain: [UInt8]
        switch header.encoding {
        case .raw:
            guard payload.count == header.plainBytes else {
                throw .corrupt(id, reason: "raw payload is \(payload.count) bytes, header says \(header.plainBytes)")
            }
            plain = Array(payload)
        case .lz4:
            guard let decoded = LZ4Block.decompress(payload, originalBytes: header.plainBytes) else {
                throw .corrupt(id, reason: "LZ4 payload does not decode to \(header.plainBytes) bytes")
            }
            plain = decoded
        }
        guard ChunkID(of: plain) == id else {
            throw .corrupt(id, reason: "content hashes to \(ChunkID(of: plain).hex)")
        }
        return plain
    }

    public func has(_ id: ChunkID) -> Bool { DurableFile.exists(path(of: id)) }

    /// Every stored chunk, in ascending order of name.
    public func list() throws(ChunkStoreError) -> [ChunkID] {
        do {
            var ids: [ChunkID] = []
            for fan in try DurableFile.list(directory + "/chunks") {
                ids += try DurableFile.list(directory + "/chunks/" + fan).compactMap(ChunkID.init(hex:))
            }
            return ids.sorted()
        } catch {
            throw .io(error.description)
        }
    }

    /// Removes chunk `id` durably. Deleting a missing chunk is an error: the caller's view is stale.
    public func delete(_ id: ChunkID) throws(ChunkStoreError) {
        let path = self.path(of: id)
        do {
            let (header, fileSize) = try DurableFile.readPrefix(path, count: Self.headerBytes)
            try DurableFile.remove(path)
            let plainBytes = (try? Self.parseHeader(header).plainBytes) ?? 0
            stats.withLock {
                $0.chunkCount -= 1
                $0.logicalBytes -= plainBytes
                $0.storedBytes -= fileSize
            }
        } catch {
            if error.errno == ENOENT { throw .notFound(id) }
            throw .io(error.description)
        }
    }

    func path(of id: ChunkID) -> String {
        let hex = id.hex
        return "\(directory)/chunks/\(hex.prefix(2))/\(hex)"
    }

    static func header(encoding: Encoding, plainBytes: Int) -> [UInt8] {
        magic + [formatVersion, encoding.rawValue, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: UInt64(plainBytes) >> (56 - 8 * $0)) }
    }

    struct HeaderError: Error { let reason: String }

    static func parseHeader(_ bytes: [UInt8]) throws(HeaderError) -> (encoding: Encoding, plainBytes: Int) {
        guard bytes.count >= headerBytes else { throw HeaderError(reason: "file is shorter than the \(headerBytes)-byte header") }
        guard Array(bytes[0..<4]) == magic else { throw HeaderError(reason: "bad magic") }
        guard bytes[4] == formatVersion else { throw HeaderError(reason: "unknown format version \(bytes[4])") }
        guard let encoding = Encoding(rawValue: bytes[5]), bytes[6] == 0, bytes[7] == 0 else {
            throw HeaderError(reason: "unknown encoding \(bytes[5])")
        }
        let length = bytes[8..<16].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        guard length <= UInt64(LZ4Block.inputBytesMax) else { throw HeaderError(reason: "impossible plain length \(length)") }
        return (encoding, Int(length))
    }
}

/// Why a chunk-store operation failed.
public enum ChunkStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stored copy of the chunk is damaged; the message names the chunk and what is wrong.
    case corrupt(ChunkID, reason: String)
    case notFound(ChunkID)
    case tooLarge(bytes: Int, limit: Int)
    case io(String)

    public var description: String {
        switch self {
        case .corrupt(let id, let reason): "chunk \(id.hex) is corrupt: \(reason)"
        case .notFound(let id): "chunk \(id.hex) not found"
        case .tooLarge(let bytes, let limit): "chunk of \(bytes) bytes exceeds chunk_bytes_max = \(limit)"
        case .io(let message): "chunk store I/O error: \(message)"
        }
    }
}
