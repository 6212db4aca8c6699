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
    /// 30 s: the refresh queues behind the copies beyond W still being written (each fsynced);
    /// 10 s was outrun by a busy machine (CI).
    static let requestTimeout = Duration.seconds(30)
    /// Connections to the peers, for the catalog's member list they were made for.
    private let pool = MemberConnections(requestTimeout: ChunkCensus.requestTimeout)

    /// A node's own chunk store, asked directly instead of over the network.
    struct LocalStore: Sendable {
        let store: ChunkStore
        let index: Int
    }

    init(gateway: Gateway, local: ChunkStore, localIndex: Int) {
        self.gateway = gateway
        self.local = local
        self.localIndex = localIndex
    }

    func close() async {
        await pool.close()
    }

    /// Throws 55000 naming the first chunk held by fewer than f + 1 nodes (see the static form).
    func requireDurable(_ root: BlobRoot, limits: ClientRequest.Limits) async throws {
        let members = MemberConnections.members(of: try await gateway.catalog())
        try await Self.requireDurable(root, members: members, connections: pool.connections(for: members), limits: limits,
                                      local: LocalStore(store: local, index: localIndex))
    }

    /// Throws 55000 naming the first chunk of `root` held by fewer than f + 1 of `members`. For an
    /// indirect root, the index's chunks are checked first, then the index is read (every chunk
    /// verified against its hash, the whole against the root) and the data chunks it lists are
    /// checked. Each holder refreshes the copies it counts for (`chunkRefresh`): the root is about
    /// to be referenced from a new place (a name, a moved row) that a collection round which
    /// listed the chunks as old and unreferenced may not have seen, so when that round comes to
    /// delete them it must find them young (docs/blobs.md, "Garbage collection").
    static func requireDurable(_ root: BlobRoot, members: [NodeConnections.Member], connections: NodeConnections,
                               limits: ClientRequest.Limits, local: LocalStore?) async throws {
        let quorum = GroupConfiguration.faultsTolerated(among: members.count) + 1
        func require(_ ids: [ChunkID]) async throws {
            let holders = await Self.holders(of: ids, members: members, connections: connections, limits: limits,
                                             refreshing: true, local: local).holders
            if let short = holders.indices.first(where: { holders[$0].count < quorum }) {
                throw GatewayError(sqlState: "55000", message:
                    "chunk \(ids[short].hex) is held by \(holders[short].count) of the \(quorum) nodes blob_write_quorum needs (f + 1); store every chunk before referencing it (repair re-makes missing copies)")
            }
        }
        switch root {
        case .direct(let manifest):
            try await require(manifest.distinctChunkIDs)
        case .indirect(let indirect):
            try await require(indirect.index.distinctChunkIDs)
            var encoding: [UInt8] = []
            _ = try await ChunkTransfer(nodes: connections).get(indirect.index) { encoding += $0 }
            try await require(try root.full(from: encoding).distinctChunkIDs)
        }
    }
}
