import Crypto
import Replication

/// The put and get loops: one task owns each state machine, reads its events from one stream and
/// carries out its actions, so the machines need no locks.
extension BlobClient {
    /// Stores the value `read` returns (buffers until an empty one) as blob `name`: chunks it,
    /// stores every chunk on R nodes, names it in `mesh_blobs` as soon as every chunk is durable
    /// (W acks), then waits for the remaining copies to be acked or given up on (a command that
    /// exits leaves nothing behind). Returns the entry. Fails without naming anything when some
    /// chunk cannot reach W copies.
    public func put(name: String, createdMicros: Int64, read: (Int) throws -> [UInt8],
                    progress: (Progress) -> Void = { _ in }) async throws -> CatalogBlob {
        // Refuse a bad or taken name before uploading anything (the catalog checks again when
        // the name is committed: another client may take it meanwhile).
        do {
            try CatalogStateMachine.validateBlobName(name, CatalogLimits())
        } catch {
            throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
        if try await blob(named: name) != nil {
            throw GatewayError(sqlState: "42710", message: "blob \"\(name)\" already exists; remove it first")
        }
        var machine: BlobPut
        do {
            var putOptions = BlobPut.Options(writeQuorum: writeQuorum)
            putOptions.windowChunks = options.windowChunks
            machine = try BlobPut(placement: try placement(), options: putOptions)
        } catch let error as BlobTransferError {
            throw BlobError.unavailable(error.description)
        }
        var splitter = BlobSplitter(limits: options.chunkLimits)
        var ready: [BlobSplitter.Piece] = []
        var held: [Int: [UInt8]] = [:]
        var chunks: [BlobManifest.Chunk?] = []
        var attempts = Attempts()
        var inputDone = false
        var inputFinished = false
        var sha256: [UInt8] = []
        var durable = 0
        var durableBytes = 0
        var committed: CatalogBlob?
        let (events, sink) = AsyncStream.makeStream(of: ChunkEvent.self)
        var nextEvent = events.makeAsyncIterator()

        func perform(_ actions: [BlobPut.Action]) throws {
            for action in actions {
                switch action {
                case .send(let chunk, let node):
                    let attempt = attempts.next(chunk: chunk, node: node)
                    guard let bytes = held[chunk] else { preconditionFailure("a send of chunk \(chunk) after it settled") }
                    nodes.request(.chunkPut(bytes: bytes, repair: false), to: node) { answer in
                        sink.yield(ChunkEvent(chunk: chunk, node: node, attempt: attempt, answer: answer))
                    }
                case .durable(let chunk, let storedBytes):
                    let plainBytes = chunks[chunk]!.plainBytes
                    chunks[chunk] = BlobManifest.Chunk(id: chunks[chunk]!.id, plainBytes: plainBytes, storedBytes: storedBytes)
                    durable += 1
                    durableBytes += plainBytes
                    progress(Progress(bytes: durableBytes, chunks: durable))
                case .settled(let chunk, _):
                    held[chunk] = nil
                case .completed:
                    break
                case .failed(let reason):
                    throw BlobError.unavailable("blob \"\(name)\" was not stored: \(reason)")
                }
            }
        }

        while true {
            // Fill the window from the source.
            while machine.canAddChunk {
                if !ready.isEmpty {
                    let piece = ready.removeFirst()
                    held[machine.chunkCount] = piece.bytes
                    chunks.append(BlobManifest.Chunk(id: piece.id, plainBytes: piece.bytes.count, storedBytes: 0))
                    guard chunks.count <= options.manifestLimits.chunksMax else {
                        throw BlobError.limit("blob \"\(name)\" needs more than manifest_chunks_max = \(options.manifestLimits.chunksMax) chunks")
                    }
                    try perform(machine.addChunk(id: piece.id.bytes))
                } else if !inputDone {
                    let buffer = try read(options.readBytes)
                    if buffer.isEmpty {
                        let end = splitter.finish()
                        if let last = end.last { ready.append(last) }
                        sha256 = end.sha256
                        inputDone = true
                    } else {
                        ready += splitter.feed(buffer)
                    }
                } else {
                    break
                }
            }
            if inputDone, ready.isEmpty, !inputFinished {
                inputFinished = true
                try perform(machine.finishInput())
            }
            if machine.isCompleted, committed == nil {
                let manifest = try BlobManifest(totalBytes: splitter.totalBytes, sha256: sha256, chunks: chunks.map { $0! },
                                                limits: options.manifestLimits)
                let blob = CatalogBlob(name: name, manifest: manifest, createdMicros: createdMicros)
                _ = try await gatewayClient.send(.blobCommit(blob))
                committed = blob
            }
            if let committed, machine.isSettled {
                sink.finish()
                return committed
            }
            guard let event = await nextEvent.next() else { break }
            guard attempts.isCurrent(event) else { continue }
            switch event.answer {
            case .response(.chunkStored(_, let storedBytes)):
                try perform(machine.acked(chunk: event.chunk, by: event.node, storedBytes: Int(storedBytes)))
            case .response(let other):
                try perform(machine.sendFailed(chunk: event.chunk, to: event.node, reason: "unexpected answer \(other)"))
            case .refused(let error):
                try perform(machine.sendFailed(chunk: event.chunk, to: event.node, reason: error.description))
            case .timedOut(let reason):
                try perform(machine.sendFailed(chunk: event.chunk, to: event.node, reason: reason))
            case .nodeLost:
                // Fails over every send in flight to the node, this one included, with no retry on it.
                try perform(machine.nodeFailed(event.node))
            }
        }
        preconditionFailure("the event stream of a put ended while the put was running")
    }

    /// Reads blob `name` into `write`, chunk by chunk in order, each verified against its hash,
    /// and the whole value against the manifest's size and SHA-256. Copies found missing or
    /// damaged on their owners are stored again from the good bytes before it returns.
    public func get(name: String, write: ([UInt8]) throws -> Void, progress: (Progress) -> Void = { _ in }) async throws -> GetReport {
        guard let blob = try await blob(named: name) else { throw BlobError.notFound("blob \"\(name)\" does not exist") }
        var machine: BlobGet
        do {
            var getOptions = BlobGet.Options()
            getOptions.windowChunks = options.windowChunks
            machine = try BlobGet(chunks: blob.manifest.chunks.map { BlobGet.Chunk(id: $0.id.bytes, plainBytes: $0.plainBytes) },
                                  placement: try placement(), options: getOptions)
        } catch let error as BlobTransferError {
            throw BlobError.unavailable(error.description)
        }
        var whole = SHA256()
        var written = 0
        var emitted = 0
        var attempts = Attempts()
        var repairs: [Task<Bool, Never>] = []
        var repaired = 0
        let (events, sink) = AsyncStream.makeStream(of: ChunkEvent.self)
        var nextEvent = events.makeAsyncIterator()

        func perform(_ actions: [BlobGet.Action]) throws {
            for action in actions {
                switch action {
                case .fetch(let chunk, let node):
                    let attempt = attempts.next(chunk: chunk, node: node)
                    nodes.request(.chunkGet(blob.manifest.chunks[chunk].id), to: node) { answer in
                        sink.yield(ChunkEvent(chunk: chunk, node: node, attempt: attempt, answer: answer))
                    }
                case .emit(_, let bytes):
                    try write(bytes)
                    whole.update(data: bytes)
                    written += bytes.count
                    emitted += 1
                    progress(Progress(bytes: written, chunks: emitted))
                case .repair(_, let bytes, let nodes):
                    for node in nodes { repairs.append(repair(bytes, on: node)) }
                case .completed:
                    break
                case .failed(let reason):
                    throw BlobError.unavailable("blob \"\(name)\" could not be read: \(reason)")
                }
            }
        }

        try perform(machine.start())
        while !machine.isCompleted {
            guard let event = await nextEvent.next() else { break }
            guard attempts.isCurrent(event) else { continue }
            switch event.answer {
            case .response(.chunk(let bytes)):
                try perform(machine.received(chunk: event.chunk, from: event.node, bytes: bytes))
            case .response(let other):
                try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .unreachable("unexpected answer \(other)")))
            case .refused(let error) where error.sqlState == "58P01":
                try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .missing))
            case .refused(let error) where error.sqlState == "XX001":
                try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .corrupt(error.message)))
            case .refused(let error):
                try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .unreachable(error.description)))
            case .timedOut(let reason):
                try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .unreachable(reason)))
            case .nodeLost:
                // Moves every fetch waiting on the node, this one included, to the next node.
                try perform(machine.nodeFailed(event.node))
            }
            // Each repair holds a chunk's bytes: at most a window of them at once.
            while repairs.count > options.windowChunks {
                if await repairs.removeFirst().value { repaired += 1 }
            }
        }
        sink.finish()
        guard written == blob.manifest.totalBytes, Array(whole.finalize()) == blob.manifest.sha256 else {
            throw BlobError.mismatch("blob \"\(name)\": the chunks give \(written) bytes whose SHA-256 differs from the manifest's (\(blob.manifest.totalBytes) bytes, \(blob.manifest.sha256Hex))")
        }
        for task in repairs where await task.value { repaired += 1 }
        return GetReport(blob: blob, repairedCopies: repaired)
    }

    /// Stores `bytes` on `node` again, replacing a damaged copy: true when the node acked.
    private func repair(_ bytes: [UInt8], on node: String) -> Task<Bool, Never> {
        Task {
            if case .response(.chunkStored) = await nodes.answer(.chunkPut(bytes: bytes, repair: true), from: node) { return true }
            return false
        }
    }
}

/// The attempt number of each (chunk, node) request, so that an answer to a superseded attempt
/// (timed out, then sent again) is told from the answer to the current one.
struct Attempts {
    private var counts: [String: Int] = [:]

    mutating func next(chunk: Int, node: String) -> Int {
        counts["\(chunk)/\(node)", default: 0] += 1
        return counts["\(chunk)/\(node)"]!
    }

    func isCurrent(_ event: ChunkEvent) -> Bool { counts["\(event.chunk)/\(event.node)"] == event.attempt }
}

/// One answer to a chunk request, tagged with the attempt it answers.
struct ChunkEvent: Sendable {
    let chunk: Int
    let node: String
    let attempt: Int
    let answer: NodeConnections.Answer
}
