import Consensus
import Dispatch
import Logging

/// Answers native client requests on a node: decodes each, runs it through the gateway (or the
/// node's chunk store), and sends the response back on the connection it came from. A request
/// that does not decode is answered with the reason (54000 for a limit, such as a chunk above
/// chunk_max_bytes; 08P01 otherwise) when its id can be read, and closes the connection when not.
final class ClientService: Sendable {
    let gateway: Gateway
    let chunks: ChunkStore
    let census: ChunkCensus
    /// Repair and garbage collection of the chunks; its status is part of `.status`.
    let maintenance: ChunkMaintenance
    let nodeIndex: Int
    let limits = ClientRequest.Limits()
    /// chunk_requests_in_flight_max: chunk-store requests of all connections run on at most this
    /// many threads at once; the rest wait their turn in arrival order. Each holds a chunk (up to
    /// chunk_max_bytes) and blocks a thread on the disk, so an unbounded number would cost a
    /// thread and a chunk's memory each; a few in parallel keep the disk and the cores busy.
    static let chunkRequestsInFlightMax = 8
    /// Chunk reads and writes block on the disk (fsync): they run here, off the cooperative pool
    /// and the event loops.
    private let chunkQueue: DispatchQueue
    private let chunkSlots = AsyncSlots(count: chunkRequestsInFlightMax)

    /// `referenceSources`: what keeps chunks alive (`BlobReferenceSource`).
    init(gateway: Gateway, chunks: ChunkStore, nodeIndex: Int, maintenance options: ChunkMaintenance.Options,
         referenceSources: [any BlobReferenceSource], logger: Logger) {
        self.gateway = gateway
        self.chunks = chunks
        self.nodeIndex = nodeIndex
        census = ChunkCensus(gateway: gateway, local: chunks, localIndex: nodeIndex)
        maintenance = ChunkMaintenance(gateway: gateway, census: census, local: chunks, nodeIndex: nodeIndex, options: options,
                                       sources: referenceSources, limits: limits,
                                       logger: logger)
        chunkQueue = DispatchQueue(label: "meshdb.node.\(nodeIndex).chunks", attributes: .concurrent)
    }

    func handle(_ payload: [UInt8], from connection: TCPTransport.ClientConnection) {
        let id: UInt32
        let request: ClientRequest
        do {
            (id, request) = try ClientRequest.decode(payload, limits: limits)
        } catch {
            var reader = ByteReader(payload)
            guard let requestID = try? reader.readU32("request id") else {
                connection.close()
                return
            }
            let sqlState = if case .limitExceeded = error { "54000" } else { "08P01" }
            let refusal = GatewayError(sqlState: sqlState, message: "malformed request: \(error)")
            connection.send(ClientResponse.error(refusal).encoded(id: requestID))
            return
        }
        Task {
            let response = await respond(to: request)
            connection.send(response.encoded(id: id))
        }
    }

    func respond(to request: ClientRequest) async -> ClientResponse {
        do {
            switch request {
            case .catalog(.createTable(let spec, let ifNotExists)):
                try await gateway.createTable(spec, ifNotExists: ifNotExists)
                return .done("CREATE TABLE")
            case .catalog(.dropTable(let name, let ifExists)):
                try await gateway.dropTable(name, ifExists: ifExists)
                return .done("DROP TABLE")
            case .catalog(.setNodeState(let index, let state)):
                // `meshdb node down/up`: the same trust as DDL (any client of the cluster).
                try await gateway.setNodeState(index, state)
                return .done("SET NODE STATE")
            case .catalog:
                return .error(GatewayError(sqlState: "42501", message: "clients may only create and drop tables and set node states"))
            case .insert(let table, let rows):
                // Raw rows may copy a reference read elsewhere into a bytea column: no put, so
                // its chunks are refreshed (docs/blobs.md, "Garbage collection").
                try await gateway.refreshChunks(ofReferencesIn: rows, of: try await gateway.requireTable(table).spec)
                return .count(UInt64(try await gateway.insert(into: table, rows: rows)))
            case .get(let table, let key, let consistency):
                return .row(try await gateway.get(from: table, key: key, consistency: consistency))
            case .scan(let table, let consistency):
                return .rows(try await gateway.scan(table, consistency: consistency))
            case .systemTable(let name):
                return .rows(try gateway.systemTable(name))
            case .status:
                return .status(NodeStatus(node: nodeIndex, groups: gateway.runtime.status(), chunks: maintenance.status))
            case .digest(let group):
                let (sequence, digest) = try gateway.runtime.stateDigest(group: group)
                return .done("\(sequence) \(digest)")
            case .chunkPut(let bytes):
                let result = try await onChunkQueue { [chunks] in try chunks.put(bytes) }
                return .chunkStored(stored: result.stored, storedBytes: UInt64(result.storedBytes))
            case .chunkPutEncoded(let chunk):
                let result = try await onChunkQueue { [chunks] in try chunks.put(chunk) }
                return .chunkStored(stored: result.stored, storedBytes: UInt64(result.storedBytes))
            case .chunkGet(let id):
                return .chunk(try await onChunkQueue { [chunks] in try chunks.get(id) })
            case .chunkGetEncoded(let id):
                return .encodedChunk(try await onChunkQueue { [chunks] in try chunks.stored(id) })
            case .chunkHas(let ids):
                return .presence(try await onChunkQueue { [chunks] in ids.map(chunks.has) })
            case .chunkRefresh(let ids):
                return .presence(try await onChunkQueue { [chunks] in ids.map(chunks.refresh) })
            case .blobCommit(let blob):
                try await census.requireDurable(blob.root, limits: limits)
                try await gateway.putBlob(blob)
                return .done("PUT BLOB")
            case .blobRemove(let name):
                try await gateway.removeBlob(named: name)
                return .done("REMOVE BLOB")
            case .blob(let name):
                return .blob(try await gateway.blob(named: name))
            }
        } catch let error as ChunkStoreError {
            return .error(Self.gatewayError(error))
        } catch let error as GatewayError {
            return .error(error)
        } catch let error as NodeError {
            return .error(GatewayError(sqlState: "57P03", message: error.description))
        } catch {
            return .error(GatewayError(sqlState: "XX000", message: "\(error)"))
        }
    }

    private func onChunkQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        await chunkSlots.acquire()
        defer { chunkSlots.release() }
        return try await withCheckedThrowingContinuation { continuation in
            chunkQueue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Chunk-store failures as a client sees them: a missing chunk is 58P01 (undefined_file), a
    /// damaged copy XX001 (data_corrupted), so a reader can tell "ask another node and repair
    /// this one" from "this node is in trouble".
    static func gatewayError(_ error: ChunkStoreError) -> GatewayError {
        switch error {
        case .notFound: GatewayError(sqlState: "58P01", message: error.description)
        case .corrupt: GatewayError(sqlState: "XX001", message: error.description)
        case .tooLarge: GatewayError(sqlState: "54000", message: error.description)
        case .malformed: GatewayError(sqlState: "22P03", message: error.description)
        case .io, .inUse: GatewayError(sqlState: "58030", message: error.description)
        }
    }
}
