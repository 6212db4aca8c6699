import Synchronization

/// A node's `NodeConnections` to the members its catalog lists, remade when that list changes
/// (a node marked down or up, a member added): what `ChunkCensus` asks its peers through, and
/// what the gateway stores and reads out-of-line bytea values through.
final class MemberConnections: Sendable {
    let requestTimeout: Duration
    private let pool = Mutex<NodeConnections?>(nil)

    init(requestTimeout: Duration) {
        self.requestTimeout = requestTimeout
    }

    /// The members as `catalog` lists them, in index order.
    static func members(of catalog: CatalogStateMachine) -> [NodeConnections.Member] {
        catalog.sortedNodes.map {
            NodeConnections.Member(index: Int($0.index), publicKeyHex: $0.publicKeyHex, host: $0.host, port: Int($0.port),
                                   zone: $0.zone, isUp: $0.state == .up)
        }
    }

    /// The connections for `members`: the current pool when it was made for them, else a fresh
    /// one (the stale pool is closed in the background).
    func connections(for members: [NodeConnections.Member]) -> NodeConnections {
        let (connections, stale) = pool.withLock { pool -> (NodeConnections, NodeConnections?) in
            if let current = pool, current.members == members { return (current, nil) }
            let fresh = NodeConnections(members: members, requestTimeout: requestTimeout)
            defer { pool = fresh }
            return (fresh, pool)
        }
        if let stale { Task { await stale.close() } }
        return connections
    }

    func close() async {
        let connections = pool.withLock { pool in
            defer { pool = nil }
            return pool
        }
        await connections?.close()
    }
}
