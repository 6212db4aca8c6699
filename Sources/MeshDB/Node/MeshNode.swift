import Consensus
import Foundation
import Synchronization
public import Logging
public import NIOCore

/// One MeshDB node, assembled from its configuration: the PBFT runtime with the catalog
/// (metadata group) and shard state machines, the TCP transport for nodes and native clients,
/// and the gateway. `meshdb start` runs one; `meshdb demo` runs several in one process.
public final class MeshNode: Sendable {
    public let index: Int
    public let runtime: NodeRuntime
    public let gateway: Gateway
    public let transport: TCPTransport
    public let layout: ClusterLayout
    /// This node's blob chunks, under `<data>/chunks`.
    public let chunks: ChunkStore
    let service: ClientService
    /// Repair and garbage collection of `chunks`: status, and rounds on demand for tests.
    var chunkMaintenanceService: ChunkMaintenance { service.maintenance }
    let logger: Logger
    /// Aborts abandoned transaction blocks in ordered time (`Gateway.sweepIdleBlocks`).
    private let idleBlockSweeper: Task<Void, Never>
    /// Chunk repair and garbage collection loops (`ChunkMaintenance`).
    private let chunkMaintenance: [Task<Void, Never>]
    /// The catalog bootstrap's retry loop (`bootstrapCatalog`), cancelled by `stop`.
    private let bootstrap = Mutex<Task<Void, Never>?>(nil)

    /// Starts the node: opens its logs and stores, binds its port, then registers the cluster's
    /// members and shard groups in the catalog in the background (idempotent on every node;
    /// `waitUntilReady` waits for it).
    ///
    /// With `hub`, node-to-node frames go through it (nodes in one process, `meshdb demo`); the
    /// TCP port then serves clients only.
    public static func start(config: NodeConfig, group: any EventLoopGroup, options: NodeRuntime.Options = .init(),
                             hub: InProcessHub? = nil, logger: Logger? = nil) async throws -> MeshNode {
        let key = try config.loadIdentity()
        let layout = try ClusterLayout(config: config)
        let index = config.node.index
        let logger = logger ?? Logger(label: "meshdb.node.\(index)")
        let dataDirectory = config.dataDirectoryPath
        // The PBFT log is what makes a write durable on a node: it is fsynced before any reply
        // (`storage.durability = "fsync"`), and at restart the shards are rebuilt from it
        // (checkpoint snapshot, then the executed batches). An fsync per SQLite commit would only
        // repeat that, so shard files always use `os`.
        var options = options
        options.logDurability = config.durability
        options.chunkMaintenance = config.chunkMaintenance(over: options.chunkMaintenance)
        let runtime = NodeRuntime(index: index, key: key, layout: layout, dataDirectory: dataDirectory, options: options,
                                  logger: logger) { group in
            if group.id == Gateway.metadataGroup { return CatalogStateMachine() }
            let shards = try ShardStateMachine(directory: "\(dataDirectory)/shards/group-\(group.id)", durability: .os)
            // The replica rebuilds the state from its log (checkpoint snapshot, then executed
            // batches): start from empty so nothing is applied twice.
            shards.removeAllShards()
            return shards
        }
        let gateway = Gateway(runtime: runtime)
        let chunks = try ChunkStore(directory: "\(dataDirectory)/chunks")
        // What keeps chunks alive: the named blobs. Out-of-line SQL values add their source here.
        let service = ClientService(gateway: gateway, chunks: chunks, nodeIndex: index, maintenance: options.chunkMaintenance,
                                    referenceSources: [CatalogBlobReferences(gateway: gateway), SQLBlobReferences(gateway: gateway)], logger: logger)
        let policy = HandshakePolicy(clusterID: layout.clusterID, nodeKeys: Set(layout.members.map(\.key)), acceptsClients: true)
        let peers = hub != nil ? [] : layout.members.map { TCPTransport.Peer(key: $0.key, host: $0.host, port: $0.port) }
        let transport = TCPTransport(
            identity: key, policy: policy, peers: peers, group: group,
            handlers: .init(nodeFrame: { peer, payload in runtime.deliver(from: peer, payload: payload) },
                            clientFrame: { connection, payload in service.handle(payload, from: connection) }))
        if let hub {
            try runtime.start(transport: hub.connect(key.publicKey) { peer, payload in runtime.deliver(from: peer, payload: payload) })
        } else {
            try runtime.start(transport: transport)
        }
        try await transport.start(host: config.node.host, port: config.node.port)
        let sweeper = Task { [gateway] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Gateway.idleBlockSweepInterval)
                await gateway.sweepIdleBlocks()
            }
        }
        let node = MeshNode(index: index, runtime: runtime, gateway: gateway, transport: transport, layout: layout,
                            chunks: chunks, service: service, logger: logger, idleBlockSweeper: sweeper,
                            chunkMaintenance: service.maintenance.start())
        node.bootstrap.withLock { $0 = Task { await node.bootstrapCatalog() } }
        return node
    }

    private init(index: Int, runtime: NodeRuntime, gateway: Gateway, transport: TCPTransport, layout: ClusterLayout,
                 chunks: ChunkStore, service: ClientService, logger: Logger, idleBlockSweeper: Task<Void, Never>,
                 chunkMaintenance: [Task<Void, Never>]) {
        self.chunkMaintenance = chunkMaintenance
        self.chunks = chunks
        self.service = service
        self.idleBlockSweeper = idleBlockSweeper
        self.index = index
        self.runtime = runtime
        self.gateway = gateway
        self.transport = transport
        self.layout = layout
        self.logger = logger
    }

    public func stop() async {
        bootstrap.withLock { $0 }?.cancel()
        idleBlockSweeper.cancel()
        for task in chunkMaintenance { task.cancel() }
        runtime.stop()
        await transport.shutdown()
        // A round in progress ends at its next cancellation check or failed request (the
        // transport is down): waited for, so that no round runs against the closed store.
        for task in chunkMaintenance { await task.value }
        await service.census.close()
        await gateway.blobValues.close()
        chunks.close()
    }

    /// Whether this node's catalog knows the shard groups, so tables can be created.
    public var isReady: Bool {
        (try? gateway.catalogSnapshot().sortedGroups.isEmpty == false) ?? false
    }

    /// Waits until `isReady`, at most `seconds`.
    public func waitUntilReady(seconds: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !isReady {
            guard ContinuousClock.now < deadline else {
                throw NodeError.timedOut("node \(index): the catalog did not learn the shard groups within \(seconds) s (is a quorum of nodes up?)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Registers every member and the shard groups through the metadata group. Each node does
    /// it; the commands are idempotent, so whichever commits first wins and the rest agree. The
    /// members are registered together (one PBFT batch when the primary batches them), then the
    /// groups, whose members must be registered. A round that times out or is turned away (no
    /// quorum yet, a view change, a full queue) is tried again, 0.5 s later at first and at most
    /// 10 s apart, until the catalog has everything or the node stops: a node whose rounds all
    /// failed used to give up, and a cluster whose four nodes did never became ready.
    private func bootstrapCatalog() async {
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            if let catalog = try? gateway.catalogSnapshot(), catalog.sortedNodes.count == layout.members.count,
               !catalog.sortedGroups.isEmpty { return }
            do {
                try await registerMembersAndGroups()
                return
            } catch NodeError.unavailable(let reason) {
                // Stopping, or no replica of the metadata group here: nothing to retry.
                logger.info("catalog bootstrap: \(reason)")
                return
            } catch let refusal as CatalogError {
                // The catalog executed the command and said no (nodes_max, a key registered under
                // another index): the same command would be refused again.
                logger.error("catalog bootstrap refused: \(refusal.message) (\(refusal.sqlState)); this node will not become ready")
                return
            } catch {
                logger.warning("catalog bootstrap: \(error); trying again in \(delay)")
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            delay = min(delay * 2, .seconds(10))
        }
    }

    private func registerMembersAndGroups() async throws {
        let runtime = self.runtime
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for member in layout.members {
                let node = CatalogNode(index: UInt32(member.index), publicKeyHex: member.key.hex, host: member.host,
                                       port: UInt16(member.port), pgPort: UInt16(member.pgPort), zone: member.zone ?? "")
                tasks.addTask {
                    try Self.requireAccepted(try await runtime.submit(group: Gateway.metadataGroup, operation: CatalogCommand.registerNode(node).encoded()))
                }
            }
            try await tasks.waitForAll()
        }
        let shardGroups = layout.groups.filter { $0.id != Gateway.metadataGroup }.map {
            CatalogGroup(id: $0.id, members: $0.members.map(UInt32.init), epoch: 1)
        }
        try Self.requireAccepted(try await runtime.submit(group: Gateway.metadataGroup, operation: CatalogCommand.defineGroups(shardGroups).encoded()))
    }

    /// Throws the catalog's refusal carried in `reply`, if it is one.
    private static func requireAccepted(_ reply: [UInt8]) throws {
        if case .error(let refusal) = try CatalogReply(decoding: reply).result { throw refusal }
    }
}
