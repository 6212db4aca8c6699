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

    /// Stores `bytes` in the chunk stores and returns the reference a bytea column keeps, as soon
    /// as every chunk has W acks: the caller commits the row then, and the transfer goes on in
    /// the background until the copies beyond W are acked or given up on (repair completes what
    /// it gave up on).
    func storeOutOfLine(_ bytes: [UInt8]) async throws -> BlobReference {
        guard bytes.count <= Self.blobValueBytesMax else {
            throw GatewayError(sqlState: "54000", message: "a bytea value of \(bytes.count) bytes exceeds blob_value_bytes_max = \(Self.blobValueBytesMax)")
        }
        let transfer = ChunkTransfer(nodes: blobValues.connections(for: MemberConnections.members(of: try await catalog())))
        return try await withCheckedThrowingContinuation { (answer: CheckedContinuation<BlobReference, any Error>) in
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
    /// their encodings: what garbage collection must keep (with `mesh_blobs`' roots). A scan per
    /// table and shard that returns only the references (`typeof(column) = 'text'`), never an
    /// inline value.
    public func referencedBlobRoots(consistency: ReadConsistency = .verified) async throws -> [BlobRoot] {
        var roots: [[UInt8]: BlobRoot] = [:]
        for table in try await catalog().sortedTables {
            let columns = table.spec.columns.filter(\.holdsOutOfLineValues).map(\.name)
            guard !columns.isEmpty else { continue }
            for column in columns {
                let quoted = quoteIdentifier(column)
                let sql = "SELECT \(quoted) FROM \(quoteIdentifier(table.name)) WHERE typeof(\(quoted)) = 'text'"
                for shard in 0..<table.spec.shardCount {
                    for row in try await read(table, shard: shard, sql: sql, consistency: consistency).rows {
                        guard case .text(let text) = row.first, let reference = try BlobReference(text: text) else { continue }
                        roots[reference.root.encoded()] = reference.root
                    }
                }
            }
        }
        return roots.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { roots[$0]! }
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
