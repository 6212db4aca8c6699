/// Where the copies of a blob chunk live: the first `replicas` nodes of the chunk's rendezvous
/// ranking over the live resource nodes (../shared/DESIGN.md, "Blob chunks"). Every client and
/// node that knows the same live nodes computes the same owners with no coordination; the rest
/// of the ranking is the order of fallbacks when an owner fails, so a copy written to a fallback
/// is also the first place a reader looks after the owners.
public struct ChunkPlacement: Sendable, Hashable {
    /// R: copies per chunk.
    public let replicas: Int
    public let nodes: [RendezvousHash.Candidate]

    /// Three copies: with W = f + 1 = 2 acks on 4 nodes, one lost node leaves two.
    public static let defaultReplicas = 3
    /// Most candidate nodes: rendezvous ranking costs one SHA-256 per node per chunk.
    public static let nodesMax = 1_024

    /// Nodes are identified by `Candidate.id`; ids must be distinct (never two copies on one node).
    public init(replicas: Int = defaultReplicas, nodes: [RendezvousHash.Candidate]) throws(BlobTransferError) {
        guard replicas >= 1 else { throw .invalidOptions("blob_replicas must be at least 1; got \(replicas)") }
        guard nodes.count <= Self.nodesMax else {
            throw .invalidOptions("\(nodes.count) candidate nodes exceed placement_nodes_max = \(Self.nodesMax)")
        }
        guard Set(nodes.map(\.id)).count == nodes.count else {
            throw .invalidOptions("candidate node ids must be distinct: two copies of a chunk never share a node")
        }
        self.replicas = replicas
        self.nodes = nodes
    }

    /// Every node, best first for `chunk`: the owners (spread over zones when there are zones),
    /// then the fallbacks.
    public func ranking(of chunk: [UInt8]) -> [String] {
        RendezvousHash.owners(of: chunk, among: nodes, count: nodes.count).map(\.id)
    }

    /// The nodes that should hold `chunk`: `replicas` of them, or every node when there are fewer.
    public func owners(of chunk: [UInt8]) -> [String] {
        RendezvousHash.owners(of: chunk, among: nodes, count: replicas).map(\.id)
    }
}

/// Why a blob transfer could not start or finish.
public enum BlobTransferError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .invalidOptions(let reason): reason
        }
    }
}
