import Foundation
public import NIOCore
import NIOPosix
import Synchronization

/// A whole cluster in this process: n nodes joined by an `InProcessHub`, each with its own key,
/// configuration and data under one directory. `meshdb demo`, the gateway tests, the SQL
/// harnesses and the benchmarks start one with a single call and stop it with another.
public final class LocalCluster: Sendable {
    public struct Options: Sendable {
        /// Number of nodes: 3f+1 tolerate f faulty ones (4 tolerate 1).
        public var nodes: Int
        /// Keys, configurations and data. nil: a fresh directory under the system temporary
        /// directory, removed by `stop()`. A directory that already holds every node's
        /// configuration is started again as it is (the demo's later runs keep their data).
        public var directory: String?
        /// Node i listens on basePort + i for nodes and native clients. nil: a range of free
        /// ports is searched for. Ignored when the directory already holds the configurations.
        public var basePort: Int?
        /// Node i listens on pgBasePort + i for PostgreSQL clients. nil: right after the node
        /// ports when those were searched for, else the layout's default (5433).
        public var pgBasePort: Int?
        /// Options of every node's runtime (tests shorten the checkpoint interval).
        public var runtime = NodeRuntime.Options()
        /// How long `start` waits for the catalog to learn the shard groups.
        public var readySeconds = 30.0
        /// Whether `start` waits for every node to be ready or for node 0 only (the demo, which
        /// serves through node 0 first).
        public var waitsForEveryNode = true
        public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

        public init(nodes: Int = 4) {
            self.nodes = nodes
            // The primary's window of batches in flight (TOCS §5.1, batching) is there to keep
            // the pipeline full while messages cross the network. In one process they cross
            // none: requests that arrive while a batch is ordered are better sent together in
            // the next one. One batch at a time made the fewest, fullest batches — pgbench's
            // write script on the demo ran 620 tps (mean of 4 runs) against 534 with the
            // default four, the same latency for a lone client. Nodes in their own processes
            // (`meshdb start`) keep the default.
            runtime.replica.batchesInFlightMax = 1
        }
    }

    public let directory: String
    public let hub: InProcessHub
    public let options: Options
    /// Whether `start` wrote new keys and configurations (false when it found them).
    public let initializedDirectory: Bool
    /// Whether `stop` removes `directory`: only one `start` created under the temporary directory.
    private let ownsDirectory: Bool
    private let running: Mutex<[MeshNode]>

    /// The running nodes, in index order (empty once stopped).
    public var nodes: [MeshNode] { running.withLock { $0 } }

    /// Node 0's gateway: where the SQL harnesses and benchmarks send their statements.
    public var gateway: Gateway { nodes[0].gateway }

    /// Starts the cluster and waits until it is ready (`Options.waitsForEveryNode`). On any
    /// failure, the nodes already started are stopped again and a directory created here removed.
    public static func start(_ options: Options = Options()) async throws -> LocalCluster {
        let ownsDirectory = options.directory == nil
        let directory = options.directory
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("meshdb-cluster-\(UUID().uuidString.prefix(8))")
        var started: [MeshNode] = []
        do {
            let configPaths = (0..<options.nodes).map { configPath(directory: directory, node: $0) }
            // No configurations (or a node count out of range, which the initializer reports).
            let initialize = configPaths.isEmpty || !configPaths.allSatisfy(FileManager.default.fileExists(atPath:))
            if initialize {
                var layout = ClusterInitializer.Layout(nodes: options.nodes, directory: directory)
                if let basePort = options.basePort {
                    layout.basePort = basePort
                    if let pgBasePort = options.pgBasePort { layout.pgBasePort = pgBasePort }
                } else {
                    // One search for both ranges, so the PostgreSQL ports are free as well.
                    let base = try await freePortRange(2 * options.nodes, group: options.eventLoopGroup)
                    layout.basePort = base
                    layout.pgBasePort = options.pgBasePort ?? base + options.nodes
                }
                try ClusterInitializer.write(layout)
            }
            let hub = InProcessHub()
            for path in configPaths {
                let config = try NodeConfig.load(path: path)
                started.append(try await MeshNode.start(config: config, group: options.eventLoopGroup,
                                                        options: options.runtime, hub: hub))
            }
            for node in options.waitsForEveryNode ? started : [started[0]] {
                try await node.waitUntilReady(seconds: options.readySeconds)
            }
            return LocalCluster(directory: directory, hub: hub, options: options, initializedDirectory: initialize,
                                ownsDirectory: ownsDirectory, nodes: started)
        } catch {
            for node in started { await node.stop() }
            if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
    }

    private init(directory: String, hub: InProcessHub, options: Options, initializedDirectory: Bool, ownsDirectory: Bool,
                 nodes: [MeshNode]) {
        self.directory = directory
        self.hub = hub
        self.options = options
        self.initializedDirectory = initializedDirectory
        self.ownsDirectory = ownsDirectory
        self.running = Mutex(nodes)
    }

    /// The configuration file of node `index`.
    public func configPath(node index: Int) -> String { Self.configPath(directory: directory, node: index) }

    private static func configPath(directory: String, node index: Int) -> String {
        (directory as NSString).appendingPathComponent("node-\(index).toml")
    }

    /// Stops node `index` and starts it again from its configuration and data (a process
    /// restart, in process); returns the new node, which also replaces it in `nodes`.
    @discardableResult
    public func restartNode(_ index: Int) async throws -> MeshNode {
        let old = nodes[index]
        await old.stop()
        let config = try NodeConfig.load(path: configPath(node: index))
        let node = try await MeshNode.start(config: config, group: options.eventLoopGroup, options: options.runtime, hub: hub)
        running.withLock { $0[index] = node }
        return node
    }

    /// Stops every node, then removes the directory if `start` created it.
    public func stop() async {
        let nodes = running.withLock { nodes in
            defer { nodes = [] }
            return nodes
        }
        for node in nodes { await node.stop() }
        if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Ports `freePortRange` has handed out in this process: never handed out twice, so a cluster
    /// that stops a node and restarts it on the same port cannot lose that port to another
    /// cluster of the same process in between (regression: a test's restartNode failed with
    /// EADDRINUSE while other test suites started clusters).
    private static let portsHandedOut = Mutex<Set<Int>>([])
    static let portsLow = 15_000
    static let portsHigh = 32_700

    /// The first of `count` consecutive ports on 127.0.0.1 that are all free right now (configs
    /// number ports base + i, so one free port is not enough) and that this process has not
    /// handed out before. The search starts at random so that test processes running side by
    /// side rarely race for the same range. Ports are taken below Linux's ephemeral range
    /// (32768–60999 by default): there, any outgoing connection of any process may be given a
    /// port a stopped node is about to bind again (regression: a restart failed with EADDRINUSE
    /// once the suite ran pgbench, PostgreSQL and bench clients beside the cluster tests).
    public static func freePortRange(_ count: Int, group: any EventLoopGroup) async throws -> Int {
        let tries = 200
        for _ in 0..<tries {
            let base = Int.random(in: portsLow..<portsHigh - count)
            let claimed = portsHandedOut.withLock { ports in
                guard (base..<base + count).allSatisfy({ !ports.contains($0) }) else { return false }
                ports.formUnion(base..<base + count)
                return true
            }
            guard claimed else { continue }
            var bound: [any Channel] = []
            for port in base..<base + count {
                guard let channel = try? await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() else { break }
                bound.append(channel)
            }
            for channel in bound { try? await channel.close() }
            if bound.count == count { return base }
        }
        throw NodeError.configuration("no \(count) consecutive free ports found between \(portsLow) and \(portsHigh) in \(tries) tries")
    }
}
