import Consensus

/// A named blob (`meshdb blob put`): its root (the manifest, or an index to it) and when it was
/// stored. The catalog holds it, so the name → root map is ordered by the metadata group and read
/// as system table `mesh_blobs`; the chunks it names live in the nodes' chunk stores. The entry is
/// committed only after f + 1 nodes hold every chunk (`ChunkCensus`), so a name never points at
/// missing data.
public struct CatalogBlob: Sendable, Hashable {
    public var name: String
    public var root: BlobRoot
    /// Microseconds since the Unix epoch, taken once by the client that stored it and carried as
    /// a literal (replicas never read their own clocks).
    public var createdMicros: Int64

    public init(name: String, root: BlobRoot, createdMicros: Int64) {
        self.name = name
        self.root = root
        self.createdMicros = createdMicros
    }
}

extension CatalogStateMachine {
    /// Blobs by name.
    public var sortedBlobs: [CatalogBlob] { blobs.keys.sorted(by: Self.nameOrder).map { blobs[$0]! } }

    public func blob(named name: String) -> CatalogBlob? { blobs[name] }

    /// A blob's name: 1 to `blobNameBytesMax` bytes of UTF-8 without control characters (file
    /// names, paths with slashes and spaces are fine).
    static func validateBlobName(_ name: String, _ limits: CatalogLimits) throws(CatalogError) {
        guard !name.isEmpty, name.utf8.count <= limits.blobNameBytesMax else {
            throw .invalidName("a blob name has 1 to blob_name_bytes_max = \(limits.blobNameBytesMax) bytes; got \(name.utf8.count)")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName("blob name \"\(name.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined())\" contains a control character")
        }
    }

    mutating func putBlob(_ blob: CatalogBlob) throws(CatalogError) -> String {
        try Self.validateBlobName(blob.name, limits)
        guard blobs[blob.name] == nil else { throw .duplicateObject("blob \"\(blob.name)\" already exists; remove it first") }
        guard blobs.count < limits.blobsMax else {
            throw .limit("cannot store blob \"\(blob.name)\": blobs_max = \(limits.blobsMax) reached")
        }
        blobs[blob.name] = blob
        return "PUT BLOB"
    }

    mutating func dropBlob(_ name: String, ifExists: Bool) throws(CatalogError) -> CatalogResult {
        guard blobs.removeValue(forKey: name) != nil else {
            if ifExists { return .skipped("REMOVE BLOB", notice: "blob \"\(name)\" does not exist, skipping") }
            throw .undefinedObject("blob \"\(name)\" does not exist")
        }
        return .ok("REMOVE BLOB")
    }

    /// One row per blob, by name. `stored_bytes` is what one copy of the blob's distinct chunks
    /// takes on disk (after LZ4), before dedup against other blobs.
    public func meshBlobs() -> CatalogRows {
        CatalogRows(
            columns: ["name", "size", "sha256", "chunks", "stored_bytes", "manifest", "created"],
            rows: sortedBlobs.map { blob in
                [.text(blob.name), .integer(Int64(blob.root.totalBytes)), .text(blob.root.sha256Hex),
                 .integer(Int64(blob.root.chunkCount)), .integer(Int64(blob.root.storedBytes)),
                 .blob(blob.root.encoded()), .text(UTCTimestamp.text(microseconds: blob.createdMicros))]
            })
    }
}

extension ByteWriter {
    mutating func write(_ blob: CatalogBlob) {
        writeText(blob.name)
        writeBytes(blob.root.encoded())
        write(UInt64(bitPattern: blob.createdMicros))
    }
}

extension ByteReader {
    mutating func readBlob(_ limits: CatalogLimits) throws(DecodeError) -> CatalogBlob {
        let name = try readText("blob name", bytesMax: limits.blobNameBytesMax)
        let bytes = try readBytes("blob manifest", limit: limits.commandBytesMax)
        let root: BlobRoot
        do {
            root = try BlobRoot(decoding: bytes)
        } catch {
            throw .invalidValue(field: "blob manifest", reason: error.description)
        }
        return CatalogBlob(name: name, root: root, createdMicros: Int64(bitPattern: try readU64("blob created")))
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff+00` from microseconds since the Unix epoch: PostgreSQL's
/// timestamptz text in UTC, by pure arithmetic so every replica renders the same text.
enum UTCTimestamp {
    static func text(microseconds: Int64) -> String {
        let perDay: Int64 = 86_400_000_000
        let days = microseconds >= 0 ? microseconds / perDay : (microseconds - perDay + 1) / perDay
        let within = microseconds - days * perDay
        let date = CivilDate.fromDays(days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let seconds = within / 1_000_000
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2)) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(within % 1_000_000, 6))+00"
    }
}
