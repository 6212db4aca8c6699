/// The write half of the blob transfer protocol as a pure state machine (STYLE.md §1): events in
/// (a chunk to store, an ack, a failed send, a node lost), actions out (send this chunk to that
/// node, this chunk is durable, this chunk needs no more sends, the blob is stored). No clock,
/// socket or file: the shell sends, times out and reports; tests drive it directly.
///
/// Each chunk goes to its R placement owners in parallel. It is *durable* once W of them acked
/// (W ≥ f + 1, so at least one correct node holds it); copies that failed are retried on the
/// same node, then on the next node of the chunk's ranking, until R nodes hold it or the ranking
/// is exhausted. The blob is stored when every chunk is durable; the shell commits its manifest
/// then. A chunk counts against the window until it is *settled* (no send in flight and none
/// left to try), which bounds the bytes the shell holds to `windowChunks` chunks.
public struct BlobPut: Sendable {
    public struct Options: Sendable, Hashable {
        /// W: acks that make a chunk durable.
        public var writeQuorum: Int
        /// Chunks not yet settled, at most.
        public var windowChunks = 8
        /// Sends of one chunk to one node (the first and the retries) before its copy moves to the
        /// next node of the ranking.
        public var attemptsPerNode = 2

        public init(writeQuorum: Int) {
            self.writeQuorum = writeQuorum
        }
    }

    public enum Action: Sendable, Hashable {
        case send(chunk: Int, to: String)
        /// W nodes acked `chunk`; `storedBytes` is what the first ack reported a copy takes.
        case durable(chunk: Int, storedBytes: Int)
        /// No send of `chunk` is in flight or left to try: the shell may drop its bytes. `copies`
        /// are the nodes that acked, fewer than R when the ranking ran out (repair completes them).
        case settled(chunk: Int, copies: [String])
        /// Every chunk is durable: the manifest may be committed. Sends of copies beyond W may
        /// still be in flight; their events are still taken.
        case completed
        /// Some chunk cannot reach W copies: the put is over and takes no more events.
        case failed(String)
    }

    private struct ChunkState: Sendable {
        let id: [UInt8]
        /// Live nodes when the chunk arrived, best first.
        let ranking: [String]
        /// The next position in `ranking` to try when a copy moves on.
        var nextCandidate: Int
        var inFlight: [String] = []
        var acked: [String] = []
        var attempts: [String: Int] = [:]
        var storedBytes: Int?
        var durable = false
        var settled = false
        var lastFailure: String?
    }

    public let placement: ChunkPlacement
    public let options: Options
    private var chunks: [ChunkState] = []
    private var deadNodes: Set<String> = []
    private var unsettled = 0
    private var durableCount = 0
    private var inputFinished = false
    public private(set) var isCompleted = false
    public private(set) var failure: String?

    /// Checks that the live nodes can hold W copies of a chunk on distinct nodes.
    public init(placement: ChunkPlacement, options: Options) throws(BlobTransferError) {
        let replicas = min(placement.replicas, placement.nodes.count)
        guard options.writeQuorum >= 1 else {
            throw .invalidOptions("blob_write_quorum must be at least 1; got \(options.writeQuorum)")
        }
        guard options.writeQuorum <= replicas else {
            throw .invalidOptions("blob_write_quorum = \(options.writeQuorum) needs that many copies on distinct nodes, but only \(replicas) can be placed (blob_replicas = \(placement.replicas), \(placement.nodes.count) live nodes)")
        }
        guard options.windowChunks >= 1 else { throw .invalidOptions("blob_window_chunks must be at least 1; got \(options.windowChunks)") }
        guard options.attemptsPerNode >= 1 else {
            throw .invalidOptions("blob_attempts_per_node must be at least 1; got \(options.attemptsPerNode)")
        }
        self.placement = placement
        self.options = options
    }

    /// Whether the window has room for another chunk.
    public var canAddChunk: Bool { failure == nil && !inputFinished && unsettled < options.windowChunks }

    public var chunkCount: Int { chunks.count }

    /// Whether no chunk has a send in flight or left to try (true once completed and every copy
    /// beyond W has been acked or given up on).
    public var isSettled: Bool { unsettled == 0 }

    /// The next chunk of the blob, named by its id (SHA-256); it gets index `chunkCount - 1`.
    public mutating func addChunk(id: [UInt8]) -> [Action] {
        precondition(canAddChunk, "addChunk when the window is full, the input finished or the put failed")
        let ranking = placement.ranking(of: id).filter { !deadNodes.contains($0) }
        let replicas = min(placement.replicas, ranking.count)
        let index = chunks.count
        chunks.append(ChunkState(id: id, ranking: ranking, nextCandidate: replicas))
        unsettled += 1
        guard replicas >= options.writeQuorum else {
            return fail("chunk \(index): only \(ranking.count) live nodes remain for blob_write_quorum = \(options.writeQuorum)")
        }
        var actions: [Action] = []
        for node in ranking.prefix(replicas) { actions += send(index, to: node) }
        return actions
    }

    /// No more chunks: the put completes once all are durable (at once for an empty blob).
    public mutating func finishInput() -> [Action] {
        guard failure == nil, !inputFinished else { return [] }
        inputFinished = true
        return completionIfDue()
    }

    /// `node` stored `chunk`. Acks for sends not in flight (duplicates, late ones) are ignored.
    public mutating func acked(chunk index: Int, by node: String, storedBytes: Int) -> [Action] {
        guard failure == nil, chunks.indices.contains(index), let slot = chunks[index].inFlight.firstIndex(of: node) else { return [] }
        chunks[index].inFlight.remove(at: slot)
        chunks[index].acked.append(node)
        if chunks[index].storedBytes == nil { chunks[index].storedBytes = storedBytes }
        var actions: [Action] = []
        if !chunks[index].durable, chunks[index].acked.count >= options.writeQuorum {
            chunks[index].durable = true
            durableCount += 1
            actions.append(.durable(chunk: index, storedBytes: chunks[index].storedBytes ?? storedBytes))
        }
        actions += settleIfDue(index)
        return actions + completionIfDue()
    }

    /// The send of `chunk` to `node` failed: an error answer, or no answer within the shell's
    /// timeout (a lost ack). Retried on `node` up to `attemptsPerNode`, then on the next node.
    public mutating func sendFailed(chunk index: Int, to node: String, reason: String) -> [Action] {
        guard failure == nil, chunks.indices.contains(index), let slot = chunks[index].inFlight.firstIndex(of: node) else { return [] }
        chunks[index].inFlight.remove(at: slot)
        chunks[index].lastFailure = "node \(node): \(reason)"
        if !deadNodes.contains(node), chunks[index].attempts[node, default: 0] < options.attemptsPerNode {
            return send(index, to: node)
        }
        return moveCopy(of: index)
    }

    /// `node` is gone (its connection closed, or the catalog marked it down): its sends fail over
    /// to other nodes and no new chunk is placed on it. `reason` (how it was lost) goes into the
    /// failure a failed put reports.
    public mutating func nodeFailed(_ node: String, reason: String = "node lost") -> [Action] {
        guard failure == nil, deadNodes.insert(node).inserted else { return [] }
        var actions: [Action] = []
        for index in chunks.indices where chunks[index].inFlight.contains(node) {
            actions += sendFailed(chunk: index, to: node, reason: reason)
            if failure != nil { return actions }
        }
        return actions
    }

    private mutating func send(_ index: Int, to node: String) -> [Action] {
        chunks[index].inFlight.append(node)
        chunks[index].attempts[node, default: 0] += 1
        return [.send(chunk: index, to: node)]
    }

    /// Sends the copy to the next live node of the ranking that holds no copy yet, or settles.
    private mutating func moveCopy(of index: Int) -> [Action] {
        while chunks[index].nextCandidate < chunks[index].ranking.count {
            let node = chunks[index].ranking[chunks[index].nextCandidate]
            chunks[index].nextCandidate += 1
            if !deadNodes.contains(node), !chunks[index].acked.contains(node), !chunks[index].inFlight.contains(node) {
                return send(index, to: node)
            }
        }
        return settleIfDue(index) + completionIfDue()
    }

    private mutating func settleIfDue(_ index: Int) -> [Action] {
        let chunk = chunks[index]
        guard !chunk.settled, chunk.inFlight.isEmpty else { return [] }
        let replicas = min(placement.replicas, chunk.ranking.count)
        let exhausted = !chunk.ranking[chunk.nextCandidate...].contains { !deadNodes.contains($0) && !chunk.acked.contains($0) }
        guard chunk.acked.count >= replicas || exhausted else { return [] }
        guard chunk.acked.count >= options.writeQuorum else {
            return fail("chunk \(index) reached \(chunk.acked.count) of blob_write_quorum = \(options.writeQuorum) copies after trying every live node; last failure: \(chunk.lastFailure ?? "none")")
        }
        chunks[index].settled = true
        unsettled -= 1
        return [.settled(chunk: index, copies: chunk.acked)]
    }

    private mutating func completionIfDue() -> [Action] {
        guard failure == nil, inputFinished, !isCompleted, durableCount == chunks.count else { return [] }
        isCompleted = true
        return [.completed]
    }

    private mutating func fail(_ reason: String) -> [Action] {
        failure = reason
        return [.failed(reason)]
    }
}
