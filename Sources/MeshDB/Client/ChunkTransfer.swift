import Consensus
import Crypto
import Replication

/// The shell around `BlobPut` and `BlobGet` (STYLE.md §1): it carries out the state machines'
/// sends and fetches over `NodeConnections`, turns answers, errors and timeouts into their
/// events, and streams a value in (chunked, hashed) or out (verified, in order) with memory
/// bounded by the window. It knows nothing of names: `BlobClient` names what it stores in
/// `mesh_blobs`, and a gateway storing an out-of-line SQL value would commit its row instead.
///
/// Each loop is one task that owns its state machine, reads its events from one stream and
/// carries out its actions, so the machines need no locks.
public struct ChunkTransfer: Sendable {
    public struct Options: Sendable {
        /// R: copies of each chunk.
        public var replicas = ChunkPlacement.defaultReplicas
        /// W: acks that make a chunk durable. nil: f + 1 for the cluster's n = 3f + 1 nodes.
        public var writeQuorum: Int?
        /// Chunks in flight or buffered, per transfer.
        public var windowChunks = 8
        /// Bytes read from the source per call.
        public var readBytes = 1 << 20
        public var chunkLimits = ContentDefinedChunker.Limits.standard
        /// manifest_chunks_max (above it the root is indirect) and indexed_chunks_max.
        public var rootLimits = BlobRoot.Limits()

        public init() {}
    }

    /// What a transfer has done so far, for a progress line.
    public struct Progress: Sendable, Hashable {
        /// Bytes of the value read (put) or written out (get).
        public let bytes: Int
        public let chunks: Int
    }

    public let nodes: NodeConnections
    public let options: Options

    public init(nodes: NodeConnections, options: Options = Options()) {
        self.nodes = nodes
        self.options = options
    }

    /// Placement over the members the catalog lists as up, zones included when any are set.
    func placement() throws -> ChunkPlacement {
        let live = nodes.members.filter(\.isUp).map { RendezvousHash.Candidate(id: $0.placementID, zone: $0.zone.isEmpty ? nil : $0.zone) }
        do {
            return try ChunkPlacement(replicas: options.replicas, nodes: live)
        } catch {
            throw BlobError.unavailable(error.description)
        }
    }

    /// f + 1 for n = 3f + 1 members: at least one correct node holds every durable chunk.
    var minimumWriteQuorum: Int { GroupConfiguration.faultsTolerated(among: nodes.members.count) + 1 }

    /// W: the configured one, f + 1 by default.
    var writeQuorum: Int { options.writeQuorum ?? minimumWriteQuorum }

    /// Stores the value `read` returns (buffers until an empty one): chunks it, stores every
    /// chunk on R nodes, calls `durable` with the value's root as soon as every chunk has W acks
    /// (the moment to commit whatever names the value), then waits for the remaining copies to be
    /// acked or given up on, so nothing is left in flight. Returns the root. Fails before
    /// `durable` when some chunk cannot reach W copies, and with `durable`'s error.
    ///
    /// A value of more than manifest_chunks_max chunks gets an indirect root: its full manifest
    /// is stored as a value of its own (before `durable`), and the root names that.
    public func put(read: (Int) throws -> [UInt8], progress: (Progress) -> Void = { _ in },
                    durable: (BlobRoot) async throws -> Void) async throws -> BlobRoot {
        // Below f + 1, every ack of a chunk could come from a faulty node: refused before any byte
        // moves (the node naming the blob would refuse it at the end anyway).
        guard writeQuorum >= minimumWriteQuorum else {
            throw BlobError.limit("blob_write_quorum = \(writeQuorum) is below f + 1 = \(minimumWriteQuorum) for \(nodes.members.count) nodes")
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
        // Each chunk encoded once (LZ4 when it shrinks), and its request once, for all its copies:
        // the nodes check and store the payload as it comes (`ChunkStore.put(_: EncodedChunk)`).
        var held: [Int: ClientRequest.Prepared] = [:]
        var chunks: [BlobManifest.Chunk?] = []
        var attempts = Attempts()
        var inputDone = false
        var inputFinished = false
        var sha256: [UInt8] = []
        var durableChunks = 0
        var durableBytes = 0
        var committed: BlobRoot?
        let (events, sink) = AsyncStream.makeStream(of: ChunkEvent.self)
        var nextEvent = events.makeAsyncIterator()

        func perform(_ actions: [BlobPut.Action]) throws {
            for action in actions {
                switch action {
                case .send(let chunk, let node):
                    let attempt = attempts.next(chunk: chunk, node: node)
                    guard let request = held[chunk] else { preconditionFailure("a send of chunk \(chunk) after it settled") }
                    nodes.request(request, to: node) { answer in
                        sink.yield(ChunkEvent(chunk: chunk, node: node, attempt: attempt, answer: answer))
                    }
                case .durable(let chunk, let storedBytes):
                    let plainBytes = chunks[chunk]!.plainBytes
                    chunks[chunk] = BlobManifest.Chunk(id: chunks[chunk]!.id, plainBytes: plainBytes, storedBytes: storedBytes)
                    durableChunks += 1
                    durableBytes += plainBytes
                    progress(Progress(bytes: durableBytes, chunks: durableChunks))
                case .settled(let chunk, _):
                    held[chunk] = nil
                case .completed:
                    break
                case .failed(let reason):
                    throw BlobError.unavailable("the value was not stored: \(reason)")
                }
            }
        }

        while true {
            // Fill the window from the source.
            while machine.canAddChunk {
                if !ready.isEmpty {
                    let piece = ready.removeFirst()
                    held[machine.chunkCount] = ClientRequest.chunkPutEncoded(EncodedChunk(plain: piece.bytes)).prepared()
                    chunks.append(BlobManifest.Chunk(id: piece.id, plainBytes: piece.bytes.count, storedBytes: 0))
                    guard chunks.count <= options.rootLimits.indexedChunksMax else {
                        throw BlobError.limit("the value needs more than indexed_chunks_max = \(options.rootLimits.indexedChunksMax) chunks")
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
                                                limits: options.rootLimits.full)
                let root = try await root(of: manifest)
                try await durable(root)
                committed = root
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
            case .nodeLost(let reason):
                // Fails over every send in flight to the node, this one included, with no retry on it.
                try perform(machine.nodeFailed(event.node, reason: reason))
            }
        }
        preconditionFailure("the event stream of a put ended while the put was running")
    }

    /// The root of `manifest`: itself when it has at most manifest_chunks_max chunks, else an
    /// index to it, after storing its encoding.
    private func root(of manifest: BlobManifest) async throws -> BlobRoot {
        guard manifest.chunks.count > options.rootLimits.direct.chunksMax else { return .direct(manifest) }
        let encoding = manifest.encoded()
        var offset = 0
        let index = try await put(read: { count in
            let end = min(offset + count, encoding.count)
            defer { offset = end }
            return Array(encoding[offset..<end])
        }, durable: { _ in })
        guard case .direct(let indexManifest) = index else {
            throw BlobError.limit("a manifest of \(manifest.chunks.count) chunks needs an index of more than manifest_chunks_max = \(options.rootLimits.direct.chunksMax) chunks")
        }
        return try BlobRoot(full: manifest, index: indexManifest, limits: options.rootLimits)
    }

    /// Reads the value `root` names into `write` (through its index first when it is indirect).
    /// Copies found missing or damaged on their owners are stored again from the good bytes
    /// before it returns; the result is how many were.
    public func get(_ root: BlobRoot, write: ([UInt8]) throws -> Void, progress: (Progress) -> Void = { _ in }) async throws -> Int {
        switch root {
        case .direct(let manifest):
            return try await get(manifest, write: write, progress: progress)
        case .indirect(let indirect):
            var encoding: [UInt8] = []
            let indexRepairs = try await get(indirect.index, write: { encoding += $0 })
            let full = try root.full(from: encoding, limits: options.rootLimits)
            return try await indexRepairs + get(full, write: write, progress: progress)
        }
    }

    /// Reads the value `manifest` describes into `write`, chunk by chunk in order, each verified
    /// against its hash, and the whole against the manifest's size and SHA-256. Copies found
    /// missing or damaged on their owners are stored again from the good bytes before it
    /// returns; the result is how many were.
    public func get(_ manifest: BlobManifest, write: ([UInt8]) throws -> Void, progress: (Progress) -> Void = { _ in }) async throws -> Int {
        var machine: BlobGet
        do {
            var getOptions = BlobGet.Options()
            getOptions.windowChunks = options.windowChunks
            machine = try BlobGet(chunks: manifest.chunks.map { BlobGet.Chunk(id: $0.id.bytes, plainBytes: $0.plainBytes) },
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
                    // The copy as stored: decoded and hashed here only (BlobGet checks size and
                    // SHA-256), not also on the node.
                    nodes.request(.chunkGetEncoded(manifest.chunks[chunk].id), to: node) { answer in
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
                    throw BlobError.unavailable("the value could not be read: \(reason)")
                }
            }
        }

        try perform(machine.start())
        while !machine.isCompleted {
            guard let event = await nextEvent.next() else { break }
            guard attempts.isCurrent(event) else { continue }
            switch event.answer {
            case .response(.encodedChunk(let encoded)):
                switch encoded.plain() {
                case .success(let bytes):
                    try perform(machine.received(chunk: event.chunk, from: event.node, bytes: bytes))
                case .failure(let malformed):
                    try perform(machine.fetchFailed(chunk: event.chunk, from: event.node, .corrupt(malformed.reason)))
                }
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
            case .nodeLost(let reason):
                // Moves every fetch waiting on the node, this one included, to the next node.
                try perform(machine.nodeFailed(event.node, reason: reason))
            }
            // Each repair holds a chunk's bytes: at most a window of them at once.
            while repairs.count > options.windowChunks {
                if await repairs.removeFirst().value { repaired += 1 }
            }
        }
        sink.finish()
        guard written == manifest.totalBytes, Array(whole.finalize()) == manifest.sha256 else {
            throw BlobError.mismatch("the chunks give \(written) bytes whose SHA-256 differs from the manifest's (\(manifest.totalBytes) bytes, \(manifest.sha256Hex))")
        }
        for task in repairs where await task.value { repaired += 1 }
        return repaired
    }

    /// Stores `bytes` on `node` again, replacing a damaged copy: true when the node acked.
    private func repair(_ bytes: [UInt8], on node: String) -> Task<Bool, Never> {
        Task {
            if case .response(.chunkStored) = await nodes.answer(.chunkPut(bytes: bytes), from: node) { return true }
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
