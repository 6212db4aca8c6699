import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
        /// Bytes of the payload on disk, header excluded (the copy that was already there, when
        /// `stored` is false): what the chunk costs after LZ4, for a blob manifest.
        public let storedBytes: Int
    }

    static let headerBytes = 16
    static let magic: [UInt8] = Array("MSHC".utf8)
    static let formatVersion: UInt8 = 1

    public let directory: String
    /// The largest chunk accepted: 64 MiB by default, far above the ~1 MiB that chunking produces.
    public let chunkBytesMax: Int
    private let stats: Mutex<Stats>
    private let temporaryCounter = Atomic<UInt64>(0)
    /// Fan-out directories whose entry is known durable in this process.
    private let syncedFans = Mutex<Set<String>>([])
    /// Held open until `close` or deinit: the flock that keeps a second instance out. -1 once closed.
    private let lockDescriptor: Mutex<Int32>
    /// Per-chunk critical sections, striped by the id's first byte: a put vouching for an
    /// existing copy and garbage collection's last check-and-unlink of it never interleave
    /// (`ChunkStore+Collection.swift`, docs/blobs.md "Garbage collection").
    let idLocks = (0..<ChunkStore.idLockStripes).map { _ in IDLock() }
    static let idLockStripes = 64

    /// Opens (creating if needed) the store in `directory`. Only one instance may have a
    /// directory open at a time, in this process or another: a second gets `.inUse`.
    public init(directory: String, chunkBytesMax: Int = 64 << 20) throws(ChunkStoreError) {
        guard chunkBytesMax > 0, chunkBytesMax <= LZ4Block.inputBytesMax else {
            throw .io("chunk_bytes_max must be 1 to \(LZ4Block.inputBytesMax); got \(chunkBytesMax)")
        }
        self.directory = directory
        self.chunkBytesMax = chunkBytesMax
        var scanned = Stats()
        let lock: Int32
        do {
            try DurableFile.ensureDirectory(directory)
            guard let descriptor = try DurableFile.lockExclusively(directory + "/LOCK") else {
                throw ChunkStoreError.inUse(directory)
            }
            lock = descriptor
        } catch let error as ChunkStoreError {
            throw error
        } catch let error as DurableFile.Failure {
            throw .io(error.description)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
        do {
            try DurableFile.ensureDirectory(directory + "/chunks")
            try DurableFile.ensureDirectory(directory + "/tmp")
            // Writes that a crash interrupted never became visible; their files go now.
            for name in try DurableFile.list(directory + "/tmp") {
                try DurableFile.remove(directory + "/tmp/" + name)
            }
            for fan in try Self.fans(in: directory) {
                for name in try DurableFile.list(directory + "/chunks/" + fan) where Self.isChunkName(name) {
                    let (header, fileSize) = try DurableFile.readPrefix(directory + "/chunks/\(fan)/\(name)", count: Self.headerBytes)
                    scanned.chunkCount += 1
                    scanned.storedBytes += fileSize
                    scanned.logicalBytes += (try? Self.parseHeader(header).plainBytes) ?? 0
                }
            }
        } catch {
            closeDescriptor(lock)
            throw .io(error.description)
        }
        lockDescriptor = Mutex(lock)
        stats = Mutex(scanned)
    }

    deinit { close() }

    /// Releases the directory for another instance (a node restarted in the same process): the
    /// store refuses every operation afterwards. Closing twice is harmless.
    public func close() {
        lockDescriptor.withLock { descriptor in
            if descriptor >= 0 { closeDescriptor(descriptor) }
            descriptor = -1
        }
    }

    private func checkOpen() throws(ChunkStoreError) {
        guard lockDescriptor.withLock({ $0 >= 0 }) else { throw .io("chunk store \(directory) is closed") }
    }

    public var currentStats: Stats { stats.withLock { $0 } }

    /// Stores `plain` under its SHA-256 unless an intact chunk of that name exists already.
    /// Durable on return, whichever way: the chunk and its directory entry survive a crash.
    ///
    /// An existing copy is read and hashed before it is vouched for, and replaced when damaged:
    /// a put's result counts toward a blob's W copies, and damage that keeps the size would pass
    /// a check of header and size alone (a dedup costs one local read, far less than the
    /// transfer that brought the bytes).
    ///
    /// Vouching for an existing copy refreshes its modification time, under the
    /// chunk's lock (`refreshBeforeVouching`): garbage collection deletes only chunks untouched
    /// for its grace period, re-checked under the same lock, so a copy that some new manifest is
    /// about to reference cannot be collected under it.
    @discardableResult
    public func put(_ plain: [UInt8]) throws(ChunkStoreError) -> PutResult {
        guard plain.count <= chunkBytesMax else {
            throw .tooLarge(bytes: plain.count, limit: chunkBytesMax)
        }
        return try store(id: ChunkID(of: plain), plainBytes: plain.count) { EncodedChunk(plain: plain) }
    }

    /// Stores a chunk that arrives encoded (compressed once by the writer for all its copies), as
    /// `put(_: [UInt8])` does, keeping the payload as it came: it is decoded and hashed first, so
    /// the name is always the SHA-256 of the plain bytes it gives.
    @discardableResult
    public func put(_ chunk: EncodedChunk) throws(ChunkStoreError) -> PutResult {
        guard chunk.plainBytes <= chunkBytesMax else {
            throw .tooLarge(bytes: chunk.plainBytes, limit: chunkBytesMax)
        }
        switch chunk.plain() {
        case .success(let plain):
            return try store(id: ChunkID(of: plain), plainBytes: plain.count) { chunk }
        case .failure(let malformed):
            throw .malformed(malformed.reason)
        }
    }

    /// The write behind both puts: `encode` runs only when no intact copy is there already.
    private func store(id: ChunkID, plainBytes: Int, encode: () -> EncodedChunk) throws(ChunkStoreError) -> PutResult {
        try checkOpen()
        let path = self.path(of: id)
        let fan = directory + "/chunks/" + id.hex.prefix(2)
        do {
            try ensureFan(fan)
            if DurableFile.exists(path), let existingBytes = intactCopyBytes(at: path, plainBytes: plainBytes),
               (try? get(id)) != nil {
                try refreshBeforeVouching(id)
                // Another put may have linked it and not yet synced the directory: sync before
                // acknowledging, or a crash could lose a chunk this call reported as stored.
                try DurableFile.syncDirectory(containing: path)
                return PutResult(id: id, stored: false, encoding: nil, storedBytes: existingBytes - Self.headerBytes)
            }
            let chunk = encode()
            let encoding = chunk.encoding
            let payload = chunk.payload
            let header = Self.header(encoding: encoding, plainBytes: plainBytes)
            let sequence = temporaryCounter.add(1, ordering: .relaxed).newValue
            let temporaryPath = "\(directory)/tmp/\(id.hex).\(getpid()).\(sequence)"
            let storedBytes = Self.headerBytes + payload.count
            if DurableFile.exists(path) {
                // A damaged copy sits under this name: replace it with a good one.
                let oldBytes = (try? DurableFile.readPrefix(path, count: 0).fileSize) ?? 0
                try DurableFile.writeSynced([header, payload], to: temporaryPath)
                try DurableFile.rename(temporaryPath, to: path)
                stats.withLock { $0.storedBytes += storedBytes - oldBytes }
                return PutResult(id: id, stored: true, encoding: encoding, storedBytes: payload.count)
            }
            let created = try DurableFile.linkNew(header, payload, at: path, temporaryPath: temporaryPath)
            if created {
                // Counted as soon as the name exists, so a failing fsync below cannot leave the
                // counts behind the files.
                stats.withLock {
                    $0.chunkCount += 1
                    $0.logicalBytes += plainBytes
                    $0.storedBytes += storedBytes
                }
            }
            try DurableFile.syncDirectory(containing: path)
            return PutResult(id: id, stored: created, encoding: created ? encoding : nil, storedBytes: payload.count)
        } catch {
            throw .io(error.description)
        }
    }

    /// The plain bytes of chunk `id`, checked against its hash.
    public func get(_ id: ChunkID) throws(ChunkStoreError) -> [UInt8] {
        let plain: [UInt8]
        switch try stored(id).plain() {
        case .success(let bytes): plain = bytes
        case .failure(let malformed): throw .corrupt(id, reason: malformed.reason)
        }
        guard ChunkID(of: plain) == id else {
            throw .corrupt(id, reason: "content hashes to \(ChunkID(of: plain).hex)")
        }
        return plain
    }

    /// Chunk `id`'s copy as stored: header and sizes checked, the payload neither decoded nor
    /// hashed (`get` does both). For a reader that checks the hash itself (`chunkGetEncoded`).
    public func stored(_ id: ChunkID) throws(ChunkStoreError) -> EncodedChunk {
        try checkOpen()
        let path = self.path(of: id)
        let header: (encoding: Encoding, plainBytes: Int)
        let file: [UInt8]
        do {
            let prefix = try DurableFile.readPrefix(path, count: Self.headerBytes)
            do {
                header = try Self.parseHeader(prefix.bytes)
            } catch {
                throw ChunkStoreError.corrupt(id, reason: error.reason)
            }
            guard header.plainBytes <= chunkBytesMax else {
                throw ChunkStoreError.tooLarge(bytes: header.plainBytes, limit: chunkBytesMax)
            }
            // The file can be no larger than its header says: raw, or LZ4 at its worst.
            let bound = Self.headerBytes + max(header.plainBytes, LZ4Block.compressedBytesMax(plainBytes: header.plainBytes))
            guard prefix.fileSize <= bound else {
                throw ChunkStoreError.corrupt(id, reason: "file of \(prefix.fileSize) bytes is larger than its header allows (\(bound))")
            }
            file = try DurableFile.read(path, bytesMax: bound)
        } catch let error as ChunkStoreError {
            throw error
        } catch let error as DurableFile.Failure {
            if error.errno == ENOENT { throw .notFound(id) }
            throw .io(error.description)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
        let payload = Array(file[Self.headerBytes...])
        switch header.encoding {
        case .raw where payload.count != header.plainBytes:
            throw .corrupt(id, reason: "raw payload is \(payload.count) bytes, header says \(header.plainBytes)")
        case .lz4 where payload.isEmpty || payload.count >= header.plainBytes:
            throw .corrupt(id, reason: "LZ4 payload of \(payload.count) bytes for \(header.plainBytes) plain bytes")
        default:
            return EncodedChunk(unchecked: header.encoding, plainBytes: header.plainBytes, payload: payload)
        }
    }

    public func has(_ id: ChunkID) -> Bool { DurableFile.exists(path(of: id)) }

    /// Every stored chunk, in ascending order of name.
    public func list() throws(ChunkStoreError) -> [ChunkID] {
        do {
            var ids: [ChunkID] = []
            for fan in try Self.fans(in: directory) {
                ids += try DurableFile.list(directory + "/chunks/" + fan).filter(Self.isChunkName).compactMap(ChunkID.init(hex:))
            }
            return ids.sorted()
        } catch {
            throw .io(error.description)
        }
    }

    /// Removes chunk `id` durably. Deleting a missing chunk is an error: the caller's view is stale.
    /// A delete does not coordinate with a concurrent `put` of the same content: garbage collection
    /// goes through `deleteIfUnused`, which re-checks the chunk's age under its lock (docs/blobs.md).
    public func delete(_ id: ChunkID) throws(ChunkStoreError) {
        try checkOpen()
        let path = self.path(of: id)
        do throws(DurableFile.Failure) {
            let (header, fileSize) = try DurableFile.readPrefix(path, count: Self.headerBytes)
            guard unlink(path) == 0 else { throw DurableFile.Failure(operation: "unlink", path: path, errno: errno) }
            let plainBytes = (try? Self.parseHeader(header).plainBytes) ?? 0
            stats.withLock {
                $0.chunkCount -= 1
                $0.logicalBytes -= plainBytes
                $0.storedBytes -= fileSize
            }
            try DurableFile.syncDirectory(containing: path)
        } catch {
            if error.errno == ENOENT { throw .notFound(id) }
            throw .io(error.description)
        }
    }

    private func ensureFan(_ fan: String) throws(DurableFile.Failure) {
        guard !syncedFans.withLock({ $0.contains(fan) }) else { return }
        try DurableFile.ensureDirectory(fan)
        syncedFans.withLock { _ = $0.insert(fan) }
    }

    /// The size of the file under a chunk's name when it is consistent with holding `plainBytes`
    /// bytes (its header parses and its size fits), else nil. (The hash is checked on every read;
    /// this cheaper check keeps a truncated or overwritten file from blocking repair by a later put.)
    private func intactCopyBytes(at path: String, plainBytes: Int) -> Int? {
        guard let (header, fileSize) = try? DurableFile.readPrefix(path, count: Self.headerBytes),
              let parsed = try? Self.parseHeader(header), parsed.plainBytes == plainBytes
        else { return nil }
        switch parsed.encoding {
        case .raw: return fileSize == Self.headerBytes + plainBytes ? fileSize : nil
        case .lz4: return fileSize > Self.headerBytes && fileSize < Self.headerBytes + plainBytes ? fileSize : nil
        }
    }

    /// The fan-out directories: two lowercase hex digits, directories only (stray files are ignored).
    private static func fans(in directory: String) throws(DurableFile.Failure) -> [String] {
        try DurableFile.list(directory + "/chunks").filter { name in
            name.utf8.count == 2 && name.utf8.allSatisfy(isLowerHexDigit) && DurableFile.isDirectory(directory + "/chunks/" + name)
        }
    }

    private static func isChunkName(_ name: String) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy(isLowerHexDigit)
    }

    private static func isLowerHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
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
        guard let encoding = Encoding(rawValue: bytes[5]) else { throw HeaderError(reason: "unknown encoding \(bytes[5])") }
        guard bytes[6] == 0, bytes[7] == 0 else { throw HeaderError(reason: "reserved header bytes are not zero") }
        let length = bytes[8..<16].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        guard length <= UInt64(LZ4Block.inputBytesMax) else { throw HeaderError(reason: "impossible plain length \(length)") }
        return (encoding, Int(length))
    }
}

/// The libc close, out of reach of `ChunkStore.close()`'s name.
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }

/// Why a chunk-store operation failed.
public enum ChunkStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stored copy of the chunk is damaged; the message names the chunk and what is wrong.
    case corrupt(ChunkID, reason: String)
    case notFound(ChunkID)
    case tooLarge(bytes: Int, limit: Int)
    case io(String)
    /// Another instance has the directory open.
    case inUse(String)
    /// An encoded chunk offered to `put` whose payload does not give its plain bytes.
    case malformed(String)

    public var description: String {
        switch self {
        case .corrupt(let id, let reason): "chunk \(id.hex) is corrupt: \(reason)"
        case .notFound(let id): "chunk \(id.hex) not found"
        case .tooLarge(let bytes, let limit): "chunk of \(bytes) bytes exceeds chunk_bytes_max = \(limit)"
        case .io(let message): "chunk store I/O error: \(message)"
        case .inUse(let directory): "chunk store \(directory) is in use by another instance (its LOCK file is held)"
        case .malformed(let reason): "malformed encoded chunk: \(reason)"
        }
    }
}
