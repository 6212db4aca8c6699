import Consensus

/// The native client protocol, carried in data frames on a node's port after a client-role
/// handshake: `meshdb status`, `meshdb blob` and the Swift `MeshClient` use it. One request, one
/// response, matched by id; several may be outstanding (the blob transfer keeps a window of
/// chunk requests in flight on each node's connection).
///
///     request   u32 id | u8 kind | body
///     response  u32 id | u8 status (0 ok, 1 error) | body   (error body: SQLSTATE text, message text)
public enum ClientRequest: Sendable, Hashable {
    /// A catalog DDL command (createTable or dropTable), as `CatalogCommand.encoded()`.
    case catalog(CatalogCommand)
    case insert(table: String, rows: [[SQLiteValue]])
    case get(table: String, key: [SQLiteValue], consistency: Gateway.ReadConsistency)
    case scan(table: String, consistency: Gateway.ReadConsistency)
    case systemTable(String)
    case status
    /// The state digest and last executed sequence number of this node's replica of a group
    /// (replicas that executed the same batches have equal digests).
    case digest(group: UInt32)
    /// Stores one chunk in this node's chunk store (`.chunkStored`); a copy already there is read
    /// and hashed, and replaced when damaged (`ChunkStore.put`), so a put also repairs.
    case chunkPut(bytes: [UInt8])
    /// `chunkPut` of a chunk the writer encoded once for all its copies (LZ4 when it shrinks): the
    /// node decodes it and checks the hash before storing the payload as it came (22P03 when the
    /// payload does not give its plain bytes).
    case chunkPutEncoded(EncodedChunk)
    /// The plain bytes of a chunk, checked against its hash on this node (`.chunk`); 58P01 when
    /// the node does not hold it, XX001 when its copy is damaged.
    case chunkGet(ChunkID)
    /// A chunk's copy as stored (`.encodedChunk`): its header checked, its payload neither decoded
    /// nor hashed on the node. The reader decodes it and checks the hash itself, as it must anyway
    /// (a node may lie), so the node's own check would be a third SHA-256 of every chunk read;
    /// a damaged copy shows as a mismatch at the reader, which repairs it. 58P01 when missing.
    case chunkGetEncoded(ChunkID)
    /// Which of these chunks this node holds (`.presence`, in request order).
    case chunkHas([ChunkID])
    /// `chunkHas` for the census before a blob is named: which of these chunks this node holds,
    /// each held copy's modification time set to now under its lock first (`ChunkStore.refresh`),
    /// so garbage collection keeps for gc_grace every chunk a name is about to reference, even
    /// one the writer never put (docs/blobs.md, "Garbage collection").
    case chunkRefresh([ChunkID])
    // No chunk delete: each node collects the garbage of its own store (`ChunkMaintenance`), so
    // no client can remove a chunk another blob needs. Kind 11 (`chunkDelete`) is refused.
    /// Names a blob whose chunks are durable, through the metadata group (`mesh_blobs`).
    case blobCommit(CatalogBlob)
    case blobRemove(name: String)
    /// One `mesh_blobs` entry with its manifest (`.blob`).
    case blob(name: String)

    enum Kind: UInt8 {
        case catalog = 1, insert = 2, get = 3, scan = 4, systemTable = 5, status = 6, digest = 7
        case chunkPut = 8, chunkGet = 9, chunkHas = 10, chunkDelete = 11, blobCommit = 12, blobRemove = 13, blob = 14
        case chunkPutEncoded = 15, chunkGetEncoded = 16, chunkRefresh = 17
    }

    public struct Limits: Sendable {
        public var rowsMax = 100_000
        public var columnsMax = 256
        public var textBytesMax = 1 << 20
        public var blobBytesMax = 16 << 20
        /// The largest chunk a node takes: the chunker's chunk_max_bytes.
        public var chunkBytesMax = ContentDefinedChunker.Limits.standard.maxBytes
        /// Chunk ids in one `chunkHas`.
        public var chunkIDsPerRequestMax = 4_096
        public var catalog = CatalogLimits()
        public init() {}
    }

    /// A request encoded once, all but its id, to send to several nodes: a chunk goes to its R
    /// owners, and encoding it per connection would copy it R times more. Each connection puts
    /// its own id in front as it writes the frame (`MeshClient.send`).
    struct Prepared: Sendable {
        /// kind | body: `encoded(id:)` without the id.
        let body: [UInt8]
    }

    func prepared() -> Prepared {
        var w = ByteWriter(capacity: 64)
        write(into: &w)
        return Prepared(body: w.bytes)
    }

    func encoded(id: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(id)
        write(into: &w)
        return w.bytes
    }

    private func write(into w: inout ByteWriter) {
        switch self {
        case .catalog(let command):
            w.write(Kind.catalog.rawValue)
            w.writeBytes(command.encoded())
        case .insert(let table, let rows):
            w.write(Kind.insert.rawValue)
            w.writeText(table)
            w.write(UInt32(rows.count))
            for row in rows {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .get(let table, let key, let consistency):
            w.write(Kind.get.rawValue)
            w.writeText(table)
            w.writeText(consistency.rawValue)
            w.write(UInt32(key.count))
            for value in key { w.write(value) }
        case .scan(let table, let consistency):
            w.write(Kind.scan.rawValue)
            w.writeText(table)
            w.writeText(consistency.rawValue)
        case .systemTable(let name):
            w.write(Kind.systemTable.rawValue)
            w.writeText(name)
        case .status:
            w.write(Kind.status.rawValue)
        case .digest(let group):
            w.write(Kind.digest.rawValue)
            w.write(group)
        case .chunkPut(let bytes):
            w.write(Kind.chunkPut.rawValue)
            w.writeBytes(bytes)
        case .chunkPutEncoded(let chunk):
            w.write(Kind.chunkPutEncoded.rawValue)
            w.write(chunk)
        case .chunkGetEncoded(let id):
            w.write(Kind.chunkGetEncoded.rawValue)
            w.writeRaw(id.bytes)
        case .chunkGet(let id):
            w.write(Kind.chunkGet.rawValue)
            w.writeRaw(id.bytes)
        case .chunkHas(let ids), .chunkRefresh(let ids):
            if case .chunkHas = self { w.write(Kind.chunkHas.rawValue) } else { w.write(Kind.chunkRefresh.rawValue) }
            w.write(UInt32(ids.count))
            for id in ids { w.writeRaw(id.bytes) }
        case .blobCommit(let blob):
            w.write(Kind.blobCommit.rawValue)
            w.write(blob)
        case .blobRemove(let name):
            w.write(Kind.blobRemove.rawValue)
            w.writeText(name)
        case .blob(let name):
            w.write(Kind.blob.rawValue)
            w.writeText(name)
        }
    }

    static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> (id: UInt32, request: ClientRequest) {
        var r = ByteReader(bytes)
        let id = try r.readU32("request id")
        let tag = try r.readU8("request kind")
        guard let kind = Kind(rawValue: tag) else { throw .unknownTag(field: "request kind", tag: tag) }
        func values(_ field: String) throws(DecodeError) -> [SQLiteValue] {
            let count = try r.readCount(field, limit: limits.columnsMax, bytesEach: 1)
            var out: [SQLiteValue] = []
            for _ in 0..<count { out.append(try r.readValue(field, textBytesMax: limits.textBytesMax, blobBytesMax: limits.blobBytesMax)) }
            return out
        }
        func consistency() throws(DecodeError) -> Gateway.ReadConsistency {
            let name = try r.readText("consistency", bytesMax: 32)
            guard let value = Gateway.ReadConsistency(rawValue: name) else { throw .unknownTag(field: "consistency", tag: 0) }
            return value
        }
        let request: ClientRequest
        switch kind {
        case .catalog:
            request = .catalog(try CatalogCommand(decoding: try r.readBytes("catalog command", limit: 1 << 20)))
        case .insert:
            let table = try r.readText("table", bytesMax: 256)
            let count = try r.readCount("rows", limit: limits.rowsMax, bytesEach: 4)
            var rows: [[SQLiteValue]] = []
            for _ in 0..<count { rows.append(try values("row")) }
            request = .insert(table: table, rows: rows)
        case .get:
            let table = try r.readText("table", bytesMax: 256)
            let level = try consistency()
            request = .get(table: table, key: try values("key"), consistency: level)
        case .scan:
            let table = try r.readText("table", bytesMax: 256)
            request = .scan(table: table, consistency: try consistency())
        case .systemTable:
            request = .systemTable(try r.readText("system table", bytesMax: 256))
        case .status:
            request = .status
        case .digest:
            request = .digest(group: try r.readU32("group"))
        case .chunkPut:
            request = .chunkPut(bytes: try r.readBytes("chunk (chunk_max_bytes)", limit: limits.chunkBytesMax))
        case .chunkPutEncoded:
            request = .chunkPutEncoded(try r.readEncodedChunk(limits))
        case .chunkGetEncoded:
            request = .chunkGetEncoded(try r.readChunkID())
        case .chunkGet:
            request = .chunkGet(try r.readChunkID())
        case .chunkHas, .chunkRefresh:
            let count = try r.readCount("chunk ids (chunk_ids_per_request_max)", limit: limits.chunkIDsPerRequestMax, bytesEach: 32)
            var ids: [ChunkID] = []
            for _ in 0..<count { ids.append(try r.readChunkID()) }
            request = kind == .chunkHas ? .chunkHas(ids) : .chunkRefresh(ids)
        case .chunkDelete:
            throw .unknownTag(field: "request kind", tag: tag)
        case .blobCommit:
            request = .blobCommit(try r.readBlob(limits.catalog))
        case .blobRemove:
            request = .blobRemove(name: try r.readText("blob name", bytesMax: limits.catalog.blobNameBytesMax))
        case .blob:
            request = .blob(name: try r.readText("blob name", bytesMax: limits.catalog.blobNameBytesMax))
        }
        try r.finish()
        return (id, request)
    }
}

/// What a node answers.
public enum ClientResponse: Sendable, Hashable {
    case done(String)
    case count(UInt64)
    case rows(Gateway.Rows)
    case row([SQLiteValue]?)
    case status(NodeStatus)
    /// A chunk put's outcome: whether this call wrote it (false: deduplicated) and the bytes its
    /// copy takes on disk, header excluded.
    case chunkStored(stored: Bool, storedBytes: UInt64)
    case chunk([UInt8])
    case encodedChunk(EncodedChunk)
    case presence([Bool])
    case blob(CatalogBlob?)
    case error(GatewayError)

    enum Kind: UInt8 {
        case done = 0, count = 1, rows = 2, row = 3, status = 4, chunkStored = 5, chunk = 6, presence = 7, blob = 8, encodedChunk = 9, error = 255
    }

    func encoded(id: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(id)
        switch self {
        case .done(let tag):
            w.write(Kind.done.rawValue)
            w.writeText(tag)
        case .count(let count):
            w.write(Kind.count.rawValue)
            w.write(count)
        case .rows(let rows):
            w.write(Kind.rows.rawValue)
            w.write(UInt32(rows.columns.count))
            for column in rows.columns { w.writeText(column) }
            w.write(UInt32(rows.rows.count))
            for row in rows.rows {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .row(let row):
            w.write(Kind.row.rawValue)
            w.write(row != nil)
            if let row {
                w.write(UInt32(row.count))
                for value in row { w.write(value) }
            }
        case .status(let status):
            w.write(Kind.status.rawValue)
            w.write(UInt32(status.node))
            w.write(UInt32(status.groups.count))
            for group in status.groups {
                w.write(group.group)
                w.write(UInt32(group.replicaIndex))
                w.write(group.view)
                w.write(UInt32(group.primaryNode))
                w.write(group.inViewChange)
                w.write(group.lastExecuted)
                w.write(group.stableCheckpoint)
            }
            w.write(status.chunks)
        case .chunkStored(let stored, let storedBytes):
            w.write(Kind.chunkStored.rawValue)
            w.write(stored)
            w.write(storedBytes)
        case .chunk(let bytes):
            w.write(Kind.chunk.rawValue)
            w.writeBytes(bytes)
        case .encodedChunk(let chunk):
            w.write(Kind.encodedChunk.rawValue)
            w.write(chunk)
        case .presence(let flags):
            w.write(Kind.presence.rawValue)
            w.write(UInt32(flags.count))
            for flag in flags { w.write(flag) }
        case .blob(let blob):
            w.write(Kind.blob.rawValue)
            w.write(blob != nil)
            if let blob { w.write(blob) }
        case .error(let error):
            w.write(Kind.error.rawValue)
            w.writeText(error.sqlState)
            w.writeText(error.message)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], limits: ClientRequest.Limits = ClientRequest.Limits()) throws(DecodeError) -> (id: UInt32, response: ClientResponse) {
        var r = ByteReader(bytes)
        let id = try r.readU32("response id")
        let tag = try r.readU8("response kind")
        guard let kind = Kind(rawValue: tag) else { throw .unknownTag(field: "response kind", tag: tag) }
        func row() throws(DecodeError) -> [SQLiteValue] {
            let count = try r.readCount("row", limit: 4096, bytesEach: 1)
            var out: [SQLiteValue] = []
            for _ in 0..<count { out.append(try r.readValue("value", textBytesMax: 1 << 30, blobBytesMax: 1 << 30)) }
            return out
        }
        let response: ClientResponse
        switch kind {
        case .done: response = .done(try r.readText("tag", bytesMax: 256))
        case .count: response = .count(try r.readU64("count"))
        case .rows:
            let columnCount = try r.readCount("columns", limit: 4096, bytesEach: 4)
            var columns: [String] = []
            for _ in 0..<columnCount { columns.append(try r.readText("column", bytesMax: 1024)) }
            let rowCount = try r.readCount("rows", limit: 100_000_000, bytesEach: 4)
            var rows: [[SQLiteValue]] = []
            for _ in 0..<rowCount { rows.append(try row()) }
            response = .rows(Gateway.Rows(columns: columns, rows: rows))
        case .row:
            response = .row(try r.readBool("present") ? try row() : nil)
        case .status:
            let node = Int(try r.readU32("node"))
            let count = try r.readCount("groups", limit: 1024, bytesEach: 8)
            var groups: [NodeRuntime.GroupStatus] = []
            for _ in 0..<count {
                groups.append(NodeRuntime.GroupStatus(
                    group: try r.readU32("group"), replicaIndex: Int(try r.readU32("replica")), view: try r.readU64("view"),
                    primaryNode: Int(try r.readU32("primary")), inViewChange: try r.readBool("in view change"),
                    lastExecuted: try r.readU64("last executed"), stableCheckpoint: try r.readU64("stable checkpoint")))
            }
            response = .status(NodeStatus(node: node, groups: groups, chunks: try r.readChunkStatus()))
        case .chunkStored:
            let stored = try r.readBool("stored")
            response = .chunkStored(stored: stored, storedBytes: try r.readU64("stored bytes"))
        case .chunk:
            response = .chunk(try r.readBytes("chunk (chunk_max_bytes)", limit: limits.chunkBytesMax))
        case .encodedChunk:
            response = .encodedChunk(try r.readEncodedChunk(limits))
        case .presence:
            let count = try r.readCount("presence flags", limit: limits.chunkIDsPerRequestMax, bytesEach: 1)
            var flags: [Bool] = []
            for _ in 0..<count { flags.append(try r.readBool("present")) }
            response = .presence(flags)
        case .blob:
            response = .blob(try r.readBool("present") ? try r.readBlob(limits.catalog) : nil)
        case .error:
            response = .error(GatewayError(sqlState: try r.readText("sqlstate", bytesMax: 5), message: try r.readText("message", bytesMax: 1 << 16)))
        }
        try r.finish()
        return (id, response)
    }
}

/// One node's view of its PBFT groups, for `meshdb status`.
public struct NodeStatus: Sendable, Hashable {
    public let node: Int
    public let groups: [NodeRuntime.GroupStatus]
    /// Its chunk store and the repair and garbage collection it ran.
    public var chunks = ChunkStatus()
}

extension ByteWriter {
    mutating func write(_ status: ChunkStatus) {
        for counter in [status.chunkCount, status.storedBytes, status.repairRounds, status.drivenChunks, status.underReplicated,
                        status.lostChunks, status.pendingCopies, status.copiesMade, status.copiesFailed] {
            write(counter)
        }
        write(UInt64(bitPattern: status.lastRepairMicros))
        write(status.collectedChunks)
        write(UInt64(bitPattern: status.lastCollectionMicros))
        write(status.scrubbedChunks)
        write(status.corruptCopiesDeleted)
    }
}

extension ByteReader {
    mutating func readChunkStatus() throws(DecodeError) -> ChunkStatus {
        var status = ChunkStatus()
        status.chunkCount = try readU64("chunk count")
        status.storedBytes = try readU64("stored bytes")
        status.repairRounds = try readU64("repair rounds")
        status.drivenChunks = try readU64("driven chunks")
        status.underReplicated = try readU64("under-replicated chunks")
        status.lostChunks = try readU64("lost chunks")
        status.pendingCopies = try readU64("pending copies")
        status.copiesMade = try readU64("copies made")
        status.copiesFailed = try readU64("copies failed")
        status.lastRepairMicros = Int64(bitPattern: try readU64("last repair"))
        status.collectedChunks = try readU64("collected chunks")
        status.lastCollectionMicros = Int64(bitPattern: try readU64("last collection"))
        status.scrubbedChunks = try readU64("scrubbed chunks")
        status.corruptCopiesDeleted = try readU64("corrupt copies deleted")
        return status
    }
}

extension ByteWriter {
    /// An encoded chunk: u8 encoding | u32 plain bytes | payload (u32 length, bytes).
    mutating func write(_ chunk: EncodedChunk) {
        write(chunk.encoding.rawValue)
        write(UInt32(chunk.plainBytes))
        writeBytes(chunk.payload)
    }
}

extension ByteReader {
    /// An encoded chunk, its sizes within chunk_max_bytes; the payload is checked by whoever decodes it.
    mutating func readEncodedChunk(_ limits: ClientRequest.Limits) throws(DecodeError) -> EncodedChunk {
        let tag = try readU8("chunk encoding")
        guard let encoding = ChunkStore.Encoding(rawValue: tag) else { throw .unknownTag(field: "chunk encoding", tag: tag) }
        let plainBytes = Int(try readU32("chunk plain bytes"))
        guard plainBytes <= limits.chunkBytesMax else {
            throw .limitExceeded(field: "chunk (chunk_max_bytes)", count: plainBytes, limit: limits.chunkBytesMax)
        }
        let payload = try readBytes("chunk payload (chunk_max_bytes)", limit: limits.chunkBytesMax)
        return EncodedChunk(unchecked: encoding, plainBytes: plainBytes, payload: payload)
    }

    mutating func readChunkID() throws(DecodeError) -> ChunkID {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<32 { bytes.append(try readU8("chunk id")) }
        guard let id = ChunkID(bytes: bytes) else { preconditionFailure("32 bytes make a chunk id") }
        return id
    }
}
