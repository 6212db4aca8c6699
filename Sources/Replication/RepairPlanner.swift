/// Plans one round of chunk repair, purely (STYLE.md §1): given the chunks that manifests
/// reference, which live nodes answered a census and which of them hold each chunk, says which
/// copies to make from where to where so that every chunk is back on R live nodes. The node's
/// shell runs the census (`chunkHas`), makes the copies (hash-checked read from a source, put on
/// the target) and plans again next round; nothing is remembered between rounds, so a restart
/// only re-plans.
///
/// Who repairs what is decided without coordination: a chunk is *driven* by the first node of its
/// rendezvous ranking over the live nodes (`driver(of:)`), which every node that knows the same
/// catalog computes alike. Each chunk is repaired by one node, and the work spreads over the
/// nodes as the chunks do. A node marked down leaves the ranking, so its chunks get new drivers
/// and their copies move to the next nodes of their rankings: the fallbacks a reader already
/// asks after the owners.
public struct RepairPlanner: Sendable {
    public struct Options: Sendable, Hashable {
        /// repair_copies_per_round_max: copies one round makes at most, so that a node coming
        /// back from a long outage or a large loss is repaired over several rounds instead of
        /// one burst that starves reads and writes.
        public var copiesPerRoundMax = 64
        /// repair_census_chunks_per_round_max: chunks one round asks the nodes about at most
        /// (`window`); a node that drives more checks them over several rounds, in turn.
        public var censusChunksPerRoundMax = 65_536

        public init() {}
    }

    /// One copy to make: read `chunk` from the first of `sources` whose bytes hash to it, put it
    /// on `target`.
    public struct Copy: Sendable, Hashable {
        public let chunk: [UInt8]
        /// Live holders, in the chunk's ranking order (owners first).
        public let sources: [String]
        public let target: String

        public init(chunk: [UInt8], sources: [String], target: String) {
            self.chunk = chunk
            self.sources = sources
            self.target = target
        }
    }

    /// What one round found and decided.
    public struct Plan: Sendable, Hashable {
        public var copies: [Copy] = []
        /// Chunks with fewer than R live holders (counting only nodes that answered).
        public var underReplicated = 0
        /// Chunks no live node that answered holds: nothing to copy from. A node that did not
        /// answer, or one marked down, may still have them; once it answers (marked up again if
        /// need be) the next round copies them.
        public var lost: [[UInt8]] = []
        /// Copies needed beyond copiesPerRoundMax, left for the next rounds.
        public var deferredCopies = 0
        /// Copies not made because live nodes that did not answer may hold them.
        public var awaitingAnswer = 0

        public init() {}
    }

    /// What the census learned about one chunk.
    public struct Census: Sendable, Hashable {
        public let chunk: [UInt8]
        /// Nodes that hold it, among those that answered.
        public let holders: Set<String>

        public init(chunk: [UInt8], holders: Set<String>) {
            self.chunk = chunk
            self.holders = holders
        }
    }

    /// R and the ranking, over the live nodes only.
    public let placement: ChunkPlacement
    public let options: Options

    public init(placement: ChunkPlacement, options: Options = Options()) throws(BlobTransferError) {
        guard options.copiesPerRoundMax >= 1 else {
            throw .invalidOptions("repair_copies_per_round_max must be at least 1; got \(options.copiesPerRoundMax)")
        }
        guard options.censusChunksPerRoundMax >= 1 else {
            throw .invalidOptions("repair_census_chunks_per_round_max must be at least 1; got \(options.censusChunksPerRoundMax)")
        }
        self.placement = placement
        self.options = options
    }

    /// The node that repairs `chunk`: the first of its ranking over the live nodes; nil when
    /// there are no live nodes.
    public func driver(of chunk: [UInt8]) -> String? { placement.ranking(of: chunk).first }

    /// The chunks among `chunks` that `node` drives, in the given order (duplicates dropped).
    public func chunks(drivenBy node: String, among chunks: [[UInt8]]) -> [[UInt8]] {
        var seen = Set<[UInt8]>()
        return chunks.filter { seen.insert($0).inserted && driver(of: $0) == node }
    }

    /// The chunks one round checks: censusChunksPerRoundMax of `driven` from position `cursor`
    /// (wrapping around), and where the next round starts. A cursor past the end (the list
    /// shrank) starts over.
    public func window<Chunk>(of driven: [Chunk], from cursor: Int) -> (chunks: [Chunk], next: Int) {
        guard driven.count > options.censusChunksPerRoundMax else { return (driven, 0) }
        let start = cursor < driven.count ? max(0, cursor) : 0
        let end = start + options.censusChunksPerRoundMax
        if end <= driven.count { return (Array(driven[start..<end]), end % driven.count) }
        let wrapped = end - driven.count
        return (Array(driven[start...] + driven[..<wrapped]), wrapped)
    }

    /// The copies that bring each chunk back to R holders among `answered` (the live nodes whose
    /// census answer arrived). A live node that did not answer is not counted as a holder, but
    /// it may well hold a copy (a slow or restarting node): as many copies as such nodes could
    /// account for wait (`awaitingAnswer`) rather than pile up extra copies on every blip; once
    /// the node is marked down it leaves the ranking and they are made. Targets follow the
    /// chunk's ranking, so copies land on the owners first. Chunks are taken in the given order
    /// until copiesPerRoundMax.
    public func plan(_ census: [Census], answered: Set<String>) -> Plan {
        var plan = Plan()
        let replicas = min(placement.replicas, placement.nodes.count)
        // Every ranking orders all the live nodes: the ones that did not answer are the same
        // for every chunk.
        let silent = placement.nodes.filter { !answered.contains($0.id) }.count
        for entry in census {
            let ranking = placement.ranking(of: entry.chunk)
            let holders = ranking.filter { answered.contains($0) && entry.holders.contains($0) }
            guard holders.count < replicas else { continue }
            plan.underReplicated += 1
            guard !holders.isEmpty else {
                plan.lost.append(entry.chunk)
                continue
            }
            let needed = replicas - holders.count
            let toMake = max(0, needed - silent)
            plan.awaitingAnswer += needed - toMake
            let candidates = ranking.filter { answered.contains($0) && !entry.holders.contains($0) }
            // Holders, silent nodes and candidates are all the live nodes, at least R (capped):
            // there is always a candidate for each copy to make.
            precondition(candidates.count >= toMake, "R is capped by the live nodes")
            for target in candidates.prefix(toMake) {
                if plan.copies.count < options.copiesPerRoundMax {
                    plan.copies.append(Copy(chunk: entry.chunk, sources: holders, target: target))
                } else {
                    plan.deferredCopies += 1
                }
            }
        }
        return plan
    }
}
