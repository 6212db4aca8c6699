import Consensus
import QueryPlanner
import Synchronization

/// Out-of-line SQL values (docs/blobs.md): a bytea value above blob_inline_max is chunked and
/// stored through `ChunkTransfer` (R copies, durable at W = f + 1 acks) before the row that
/// references it is written, and read back through it (a bounded parallel window, every chunk's
/// hash checked, the next replica on error, bad copies repaired) when a SELECT returns it.
extension Gateway {
    /// Most bytes one out-of-line value may have: a result row is assembled whole in memory
    /// (PostgreSQL's DataRow carries a value whole), so this bounds what one value can ask for.
    public static let blobValueBytesMax = 1 << 30

    /// The transaction block the running SQL statement belongs to, set by `SQLSession` around
    /// each statement: `storeOutOfLine` notes the roots it stores there, for COMMIT to refresh.
    /// A task-local, because the statement executors reach `storeOutOfLine` through many paths.
    @TaskLocal static var storingFor: GatewayTransaction?

    /// Stores `bytes` in the chunk stores and returns the reference a bytea column keeps, as soon
    /// as every chunk has W acks: the caller commits the row then, and the transfer goes on in
    /// the background until the copies beyond W are acked or given up on (repair completes what
    /// it gave up on).
    func storeOutOfLine(_ bytes: [UInt8]) async throws -> BlobReference {
        guard bytes.count <= Self.blobValueBytesMax else {
            throw GatewayError(sqlState: "54000", message: "a bytea value of \(bytes.count) bytes exceeds blob_value_bytes_max = \(Self.blobValueBytesMax)")
        }
        let transfer = ChunkTransfer(nodes: blobValues.connections(for: MemberConnections.members(of: try await catalog())))
        let block = Self.storingFor
        let reference = try await withCheckedThrowingContinuation { (answer: CheckedContinuation<BlobReference, any Error>) in
            let answered = Mutex(false)
            @Sendable func answerOnce(_ result: Result<BlobReference, any Error>) {
                guard answered.withLock({ done in defer { done = true }; return !done }) else { return }
                answer.resume(with: result)
            }
            Task {
                var offset = 0
                do {
                    _ = try await transfer.put(read: { count in
                        let end = min(offset + count, bytes.count)
                        defer { offset = end }
                        return Array(bytes[offset..<end])
                    }, durable: { root in answerOnce(.success(BlobReference(root: root))) })
                } catch let error as BlobError {
                    answerOnce(.failure(Self.gatewayError(error)))
                } catch {
                    answerOnce(.failure(error))
                }
            }
        }
        block?.noteStored(reference.root)
        return reference
    }

    /// The value `reference` names, read from the chunk stores; `analysis` counts what was read.
    /// `bytesLeft`: what the statement may still hold (blob_result_bytes_max), refused before
    /// any chunk is read when the value is larger.
    func fetchOutOfLine(_ reference: BlobReference, bytesLeft: Int, analysis: inout BlobStrategy.Analysis) async throws -> [UInt8] {
        let size = reference.root.totalBytes
        guard size <= Self.blobValueBytesMax, size <= bytesLeft else {
            throw GatewayError(sqlState: "54000", message: size > Self.blobValueBytesMax
                ? "a bytea value of \(size) bytes exceeds blob_value_bytes_max = \(Self.blobValueBytesMax)"
                : "the result's out-of-line bytea values exceed blob_result_bytes_max = \(SelectExecutor.blobResultBytesMax) (PostgreSQL sends each row whole): select fewer rows at once")
        }
        let transfer = ChunkTransfer(nodes: blobValues.connections(for: MemberConnections.members(of: try await catalog())))
        var value: [UInt8] = []
        value.reserveCapacity(size)
        var chunks = 0
        do {
            _ = try await transfer.get(reference.root, write: { value += $0 }, progress: { chunks = $0.chunks })
        } catch let error as BlobError {
            throw Self.gatewayError(error)
        }
        analysis.values += 1
        analysis.chunks += chunks
        analysis.bytes += value.count
        return value
    }

    /// Every blob root referenced from a bytea column of any table, each once, in the order of
    /// their encodings: what garbage collection must keep (with `mesh_blobs`' roots); 55000
    /// naming the first part that could not be read (`scanBlobReferences`).
    public func referencedBlobRoots(consistency: ReadConsistency = .verified,
                                    afterShard: @Sendable () async throws -> Void = {}) async throws -> [BlobRoot] {
        let scan = await scanBlobReferences(consistency: consistency, afterShard: afterShard)
        if let gap = scan.gaps.first {
            throw GatewayError(sqlState: "55000", message: "the bytea references of \(scan.gaps.count) parts could not be read, e.g. \(gap)")
        }
        return scan.roots
    }

    /// The blob roots referenced from bytea columns, each once, in the order of their
    /// encodings, and what could not be read. One scan per table and shard that reads all the
    /// table's bytea columns in one statement and returns only the references
    /// (`typeof(column) = 'text'`), never an inline value: a row is seen whole, so a reference
    /// copied from one column to another (`UPDATE t SET a = b, b = NULL`, which stores nothing
    /// and refreshes no chunk) is in one of them. Rows that move between shards without a put
    /// refresh their chunks instead (docs/blobs.md, "Garbage collection"). A shard without a
    /// verified answer or a malformed reference is a gap, and the scan goes on with the rest.
    /// `afterShard` runs after each shard's read (tests interleave writes there).
    public func scanBlobReferences(consistency: ReadConsistency = .verified,
                                   afterShard: @Sendable () async throws -> Void = {}) async -> ReferenceScan {
        var roots: [[UInt8]: BlobRoot] = [:]
        var gaps: [String] = []
        let tables: [CatalogTable]
        do {
            tables = try await catalog().sortedTables
        } catch {
            return ReferenceScan(gaps: ["the catalog: \(error)"])
        }
        for table in tables {
            let columns = table.spec.columns.filter(\.holdsOutOfLineValues).map { quoteIdentifier($0.name) }
            guard !columns.isEmpty else { continue }
            let references = columns.map { "CASE WHEN typeof(\($0)) = 'text' THEN \($0) END" }.joined(separator: ", ")
            let anyReference = columns.map { "typeof(\($0)) = 'text'" }.joined(separator: " OR ")
            let sql = "SELECT \(references) FROM \(quoteIdentifier(table.name)) WHERE \(anyReference)"
            for shard in 0..<table.spec.shardCount {
                do {
                    for row in try await read(table, shard: shard, sql: sql, consistency: consistency).rows {
                        for value in row {
                            guard case .text(let text) = value else { continue }
                            do {
                                if let root = try BlobReference(text: text)?.root { roots[root.encoded()] = root }
                            } catch {
                                gaps.append("\(table.name) shard \(shard): a malformed reference (\(error))")
                            }
                        }
                    }
                    try await afterShard()
                } catch {
                    gaps.append("\(table.name) shard \(shard): \(error)")
                }
            }
        }
        return ReferenceScan(roots: BlobRoot.inEncodingOrder(roots), gaps: gaps)
    }

    /// The roots of the references among `values` (text in a bytea column), in their order.
    static func referencedRoots(in values: [SQLiteValue]) throws -> [BlobRoot] {
        try values.compactMap { value in
            guard case .text(let text) = value else { return nil }
            return try BlobReference(text: text)?.root
        }
    }

    /// Before rows that carry references to chunks stored earlier are committed without a put
    /// (a rekey moves every row of a table between shards; a native client inserts a reference
    /// it read elsewhere), for the bytea columns of `spec`: every copy of their chunks
    /// on the up nodes gets its time refreshed, and f + 1 copies of each are required, as when a
    /// blob is named (`ChunkCensus.requireDurable`). A collection round reads one shard at a time
    /// and can miss a row that moves from a shard it has not read yet to one it has read; the
    /// chunks it then finds unreferenced are young and stay.
    func refreshChunks(ofReferencesIn rows: [[SQLiteValue]], of spec: CatalogTableSpec) async throws {
        let positions = spec.columns.indices.filter { spec.columns[$0].holdsOutOfLineValues }
        guard !positions.isEmpty else { return }
        var roots: [[UInt8]: BlobRoot] = [:]
        for row in rows {
            for root in try Self.referencedRoots(in: positions.filter { $0 < row.count }.map { row[$0] }) { roots[root.encoded()] = root }
        }
        try await refreshChunks(of: BlobRoot.inEncodingOrder(roots))
    }

    /// Refreshes every copy of the chunks of `roots` on the up nodes and requires f + 1 of each
    /// (`ChunkCensus.requireDurable`), in order.
    func refreshChunks(of roots: [BlobRoot]) async throws {
        guard !roots.isEmpty else { return }
        let members = MemberConnections.members(of: try await catalog())
        let connections = blobValues.connections(for: members)
        for root in roots {
            try await ChunkCensus.requireDurable(root, members: members, connections: connections, limits: ClientRequest.Limits(), local: nil)
        }
    }

    static func gatewayError(_ error: BlobError) -> GatewayError {
        switch error {
        case .limit(let reason): GatewayError(sqlState: "54000", message: reason)
        case .unavailable(let reason): GatewayError(sqlState: "57P03", message: "out-of-line bytea value: \(reason)")
        case .mismatch(let reason): GatewayError(sqlState: "XX001", message: "out-of-line bytea value: \(reason)")
        case .invalidManifest, .notFound: GatewayError(sqlState: "XX000", message: "out-of-line bytea value: \(error)")
        }
    }
}

extension CatalogColumn {
    /// A BYTEA or BLOB column as declared: its values above blob_inline_max leave the row. A
    /// column without a declared type has BLOB affinity too, but holds anything (numbers, text),
    /// so it keeps every value in the row.
    var holdsOutOfLineValues: Bool {
        type == .blob && ["bytea", "blob"].contains(declaredType.lowercased())
    }
}
