import Crypto

/// The read half of the blob transfer protocol as a pure state machine (STYLE.md §1): given a
/// manifest's chunk list, it says which node to fetch each chunk from, checks every reply against
/// the chunk's size and SHA-256, hands the chunks out strictly in order, and names the copies
/// that must be repaired. The shell fetches, times out and reports; tests drive it directly.
///
/// Chunks are fetched in parallel within a window of `windowChunks` (fetched or waiting to be
/// emitted), so the bytes held are bounded however large the blob. Each chunk is asked of one
/// node at a time, in its rendezvous ranking (owners first); on an error, a timeout or a
/// mismatch the next node is asked. A node that returned damaged bytes, or is an owner and did
/// not have the chunk, gets a `.repair` once good bytes are in hand: a lying node cannot make a
/// reader accept altered bytes, only cost it another fetch.
public struct BlobGet: Sendable {
    public struct Chunk: Sendable, Hashable {
        /// SHA-256 of the plain bytes.
        public let id: [UInt8]
        public let plainBytes: Int

        public init(id: [UInt8], plainBytes: Int) {
            self.id = id
            self.plainBytes = plainBytes
        }
    }

    public struct Options: Sendable, Hashable {
        /// Chunks fetched or buffered and not yet emitted, at most.
        public var windowChunks = 8
        /// Passes over a chunk's nodes: a node that did not answer (a timeout, an error that says
        /// nothing about its copy) is asked again on the next pass; one that lacks the chunk or
        /// holds a damaged copy is not.
        public var passes = 2

        public init() {}
    }

    /// How a fetch failed, as the shell saw it.
    public enum FetchFailure: Sendable, Hashable {
        /// The node answered that it does not hold the chunk.
        case missing
        /// The node answered that its copy is damaged (its own hash check failed).
        case corrupt(String)
        /// No usable answer: an error, a closed connection or a timeout. Says nothing about the copy.
        case unreachable(String)
    }

    public enum Action: Sendable, Hashable {
        case fetch(chunk: Int, from: String)
        /// The next chunk of the value, verified; emitted in chunk order exactly once each.
        case emit(chunk: Int, bytes: [UInt8])
        /// `nodes` should hold `chunk` and do not, or hold a damaged copy: store `bytes` there.
        case repair(chunk: Int, bytes: [UInt8], nodes: [String])
        case completed
        /// Some chunk could be read from no node: the get is over and takes no more events.
        case failed(String)
    }

    private struct ChunkState: Sendable {
        var candidates: [String] = []
        var position = 0
        var pass = 1
        /// Nodes that gave no usable answer in this pass, in the order they were asked.
        var unanswered: [String] = []
        var asking: String?
        var bytes: [UInt8]?
        var badCopies: [String] = []
        var failures: [String] = []
    }

    public let placement: ChunkPlacement
    public let options: Options
    public let chunks: [Chunk]
    private var states: [Int: ChunkState] = [:]
    private var deadNodes: Set<String> = []
    private var nextToStart = 0
    private var nextToEmit = 0
    public private(set) var failure: String?

    public init(chunks: [Chunk], placement: ChunkPlacement, options: Options = Options()) throws(BlobTransferError) {
        guard options.windowChunks >= 1 else { throw .invalidOptions("blob_window_chunks must be at least 1; got \(options.windowChunks)") }
        guard options.passes >= 1 else { throw .invalidOptions("blob_read_passes must be at least 1; got \(options.passes)") }
        guard !placement.nodes.isEmpty || chunks.isEmpty else { throw .invalidOptions("no live nodes to read chunks from") }
        self.chunks = chunks
        self.placement = placement
        self.options = options
    }

    public var isCompleted: Bool { nextToEmit == chunks.count }

    /// The first fetches (or `.completed` for a blob without chunks).
    public mutating func start() -> [Action] {
        fillWindow() + completionIfDue()
    }

    /// `node` answered `bytes` for `chunk`. Bytes of the wrong size or hash count as a damaged
    /// copy on that node; answers nobody waits for are ignored.
    public mutating func received(chunk index: Int, from node: String, bytes: [UInt8]) -> [Action] {
        guard failure == nil, var state = states[index], state.asking == node, state.bytes == nil else { return [] }
        state.asking = nil
        let expected = chunks[index]
        guard bytes.count == expected.plainBytes, Array(SHA256.hash(data: bytes)) == expected.id else {
            state.badCopies.append(node)
            state.failures.append("node \(node): reply does not match the chunk's size and SHA-256")
            states[index] = state
            return askNext(index)
        }
        state.bytes = bytes
        states[index] = state
        var actions: [Action] = []
        if !state.badCopies.isEmpty {
            actions.append(.repair(chunk: index, bytes: bytes, nodes: state.badCopies))
        }
        return actions + emitReady() + fillWindow() + completionIfDue()
    }

    public mutating func fetchFailed(chunk index: Int, from node: String, _ failureKind: FetchFailure) -> [Action] {
        guard failure == nil, var state = states[index], state.asking == node, state.bytes == nil else { return [] }
        state.asking = nil
        switch failureKind {
        case .missing:
            // Only an owner is supposed to hold the chunk; a fallback without it is no fault.
            if placement.owners(of: chunks[index].id).contains(node) { state.badCopies.append(node) }
            state.failures.append("node \(node): not found")
        case .corrupt(let reason):
            state.badCopies.append(node)
            state.failures.append("node \(node): corrupt (\(reason))")
        case .unreachable(let reason):
            state.unanswered.append(node)
            state.failures.append("node \(node): \(reason)")
        }
        states[index] = state
        return askNext(index)
    }

    /// `node` is gone: fetches waiting on it move to the next node; it is asked nothing more.
    /// `reason` (how it was lost) goes into the failures a failed get reports.
    public mutating func nodeFailed(_ node: String, reason: String = "node lost") -> [Action] {
        guard failure == nil, deadNodes.insert(node).inserted else { return [] }
        var actions: [Action] = []
        for index in states.keys.sorted() where states[index]?.asking == node {
            actions += fetchFailed(chunk: index, from: node, .unreachable(reason))
            if failure != nil { break }
        }
        return actions
    }

    private mutating func fillWindow() -> [Action] {
        var actions: [Action] = []
        while failure == nil, nextToStart < chunks.count, nextToStart - nextToEmit < options.windowChunks {
            let index = nextToStart
            nextToStart += 1
            states[index] = ChunkState(candidates: placement.ranking(of: chunks[index].id))
            actions += askNext(index)
        }
        return actions
    }

    /// Asks the next live candidate for chunk `index`; after the last, starts another pass over
    /// the nodes that did not answer; fails the get when no pass is left.
    private mutating func askNext(_ index: Int) -> [Action] {
        guard var state = states[index] else { return [] }
        while true {
            while state.position < state.candidates.count {
                let node = state.candidates[state.position]
                state.position += 1
                if !deadNodes.contains(node) {
                    state.asking = node
                    states[index] = state
                    return [.fetch(chunk: index, from: node)]
                }
            }
            let retry = state.unanswered.filter { !deadNodes.contains($0) }
            guard state.pass < options.passes, !retry.isEmpty else { break }
            state.pass += 1
            state.candidates = retry
            state.position = 0
            state.unanswered = []
        }
        states[index] = state
        let reason = "chunk \(index) (\(Self.hex(chunks[index].id))) could be read from none of \(placement.nodes.count) nodes in \(state.pass) pass\(state.pass == 1 ? "" : "es"): "
            + (state.failures.isEmpty ? "all are down" : state.failures.joined(separator: "; "))
        failure = reason
        return [.failed(reason)]
    }

    private mutating func emitReady() -> [Action] {
        var actions: [Action] = []
        while let bytes = states[nextToEmit]?.bytes {
            actions.append(.emit(chunk: nextToEmit, bytes: bytes))
            states[nextToEmit] = nil
            nextToEmit += 1
        }
        return actions
    }

    private func completionIfDue() -> [Action] {
        failure == nil && isCompleted ? [.completed] : []
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
