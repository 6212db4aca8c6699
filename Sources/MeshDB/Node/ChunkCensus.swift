import Consensus

/// Before a blob is named, checks that every chunk its manifest lists is held by at least
/// f + 1 nodes (blob_write_quorum's floor), by asking every node the catalog lists as up which of
/// them it holds. The client that stored the chunks is not trusted to say so: with f + 1 holders,
/// at least one is a correct node, so a name in `mesh_blobs` never points at chunks that a faulty
/// client or f lying nodes made up.
final class ChunkCensus: Sendable {
    let gateway: Gateway
    let local: ChunkStore
    let localIndex: Int
    /// How long a peer may take to say which chunks it holds; a silent peer counts as holding none.
    static let requestTimeout = Duration.seconds(10)
    /// Connections to the peers, for the catalog's member list they were made for.
    private let pool = MemberConnections(requestTimeout: ChunkCensus.requestTimeout)

    init(gateway: Gateway, local: ChunkStore, localIndex: Int) {
        self.gateway = gateway
        self.local = local
        self.localIndex = localIndex
    }

    func close() async {
        await pool.close()
    }

    /// Throws 55000 naming the first chunk held by fewer than f + 1 nodes. For an indirect root,
    /// the index's chunks are checked first, then the index is read (every chunk verified against
    /// its hash, the whole against the root) and the data chunks it lists are checked.
    func requireDurable(_ root: BlobRoot, limits: ClientRequest.Limits) async throws {
        let catalog = try await gateway.catalog()
        let quorum = GroupConfiguration.faultsTolerated(among: catalog.sortedNodes.count) + 1
        let members = MemberConnections.members(of: catalog)
        let connections = pool.connections(for: members)
        switch root {
        case .direct(let manifest):
            try await requireHolders(manifest.distinctChunkIDs, quorum: quorum, members: members, connections: connections, limits: limits)
        case .indirect(let indirect):
            try await requireHolders(indirect.index.distinctChunkIDs, quorum: quorum, members: members, connections: connections, limits: limits)
            var encoding: [UInt8] = []
            _ = try await ChunkTransfer(nodes: connections).get(indirect.index) { encoding += $0 }
            let full = try root.full(from: encoding)
            try await requireHolders(full.distinctChunkIDs, quorum: quorum, members: members, connections: connections, limits: limits)
        }
    }

    private func requireHolders(_ ids: [ChunkID], quorum: Int, members: [NodeConnections.Member], connections: NodeConnections,
                                limits: ClientRequest.Limits) async throws {
        let holders = await self.holders(of: ids, members: members, connections: connections, limits: limits).holders
        if let short = holders.indices.first(where: { holders[$0].count < quorum }) {
            throw GatewayError(sqlState: "55000", message:
                "chunk \(ids[short].hex) is held by \(holders[short].count) of the \(quorum) nodes blob_write_quorum needs (f + 1); store every chunk before naming the blob")
        }
    }
}
