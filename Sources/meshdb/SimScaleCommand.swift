import ArgumentParser
import Consensus
import Replication

/// `meshdb sim scale`: ordered writes per second in simulated time as shard groups grow, on
/// clusters of N nodes with 1 ms links and the measured per-node costs (issue 9, "scale on
/// paper"; the model is `ScaleSimulation`). Groups are placed as MeshDB places them.
struct SimScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Simulate N-node clusters running G PBFT shard groups and report ordered writes/s in simulated time.",
        discussion: """
            Every node is one serial queue with the measured costs of opening, sealing and executing \
            messages and of fsyncing its PBFT logs and shard commits; links add --link-ms one way. \
            Groups of 4 replicas are placed by rendezvous hashing, as ClusterLayout does (group 0 is \
            the metadata group). Closed-loop clients write keys spread over the shard groups. The same \
            arguments give the same numbers.
            """)

    @Option(help: "Cluster sizes to run, comma-separated.")
    var nodes: String = "4,16,64"

    @Option(help: "Shard-group counts to run per cluster size, comma-separated; 'auto' runs 1, 2, 4, ... up to 2N, or N for 64 nodes and more.")
    var groups: String = "auto"

    @Option(help: "Requests per pre-prepare at most, comma-separated for several runs.")
    var batch: String = "16"

    @Option(help: "PBFT clients per shard group (the gateway pool); default 2 x batch x batches in flight.")
    var clientsPerGroup: Int?

    @Option(help: "Closed-loop clients per shard group (default: as many as PBFT clients).")
    var sessionsPerGroup: Int?

    @Option(help: "One-way link latency in milliseconds.")
    var linkMs: Double = 1

    @Option(help: "Bandwidth of each node-to-node link in Mbit/s; 0 for none (no transfer time).")
    var linkMbps: Int = 1_000

    @Option(help: "Microseconds of one fsync (PBFT log sync, shard commit); 0 for a node that never waits on its disk.")
    var fsyncUs: Int?

    @Option(help: "Simulated milliseconds before measuring.")
    var warmupMs: Int = 50

    @Option(help: "Simulated milliseconds measured.")
    var measureMs: Int = 200

    @Option(help: "The seed: placement and keys follow from it.")
    var seed: UInt64 = 1

    @Flag(help: "Print JSON instead of the table.")
    var json = false

    static let groupSize = 4

    func validate() throws {
        for (name, value) in [("--nodes", nodes), ("--batch", batch)] where Self.list(value) == nil {
            throw ValidationError("\(name) must be a comma-separated list of positive integers; got '\(value)'")
        }
        if groups != "auto", Self.list(groups) == nil {
            throw ValidationError("--groups must be 'auto' or a comma-separated list of positive integers; got '\(groups)'")
        }
        for n in Self.list(nodes) ?? [] where n < Self.groupSize {
            throw ValidationError("--nodes: a cluster needs at least \(Self.groupSize) nodes for a group of 4 replicas; got \(n)")
        }
        let batchLimit = CodecLimits().batchRequestsMax
        for b in Self.list(batch) ?? [] where b > batchLimit {
            throw ValidationError("--batch: at most \(batchLimit) requests per pre-prepare (CodecLimits.batchRequestsMax); got \(b)")
        }
        guard linkMs >= 0, linkMbps >= 0, (fsyncUs ?? 0) >= 0 else {
            throw ValidationError("--link-ms, --link-mbps and --fsync-us must not be negative")
        }
        guard warmupMs >= 0, measureMs >= 1 else { throw ValidationError("--measure-ms must be at least 1 and --warmup-ms not negative") }
        if let clientsPerGroup, clientsPerGroup < 1 { throw ValidationError("--clients-per-group must be at least 1") }
        if let sessionsPerGroup, sessionsPerGroup < 1 { throw ValidationError("--sessions-per-group must be at least 1") }
    }

    func run() throws {
        var results: [ScaleResult] = []
        var last: ScaleConfig?
        if !json { print(ScaleReport.header) }
        for n in Self.list(nodes)! {
            let counts = groups == "auto" ? Self.autoGroups(nodes: n) : Self.list(groups)!
            for g in counts {
                for b in Self.list(batch)! {
                    let config = try makeConfig(nodes: n, shardGroups: g, batch: b)
                    let result = try ScaleSimulation(config).run()
                    if !result.violations.isEmpty {
                        print("FAIL meshdb sim scale --nodes \(n) --groups \(g) --batch \(b) --seed \(seed)  # \(result.violations[0])")
                        throw ExitCode.failure
                    }
                    if !json { print(ScaleReport.row(result)) }
                    results.append(result)
                    last = config
                }
            }
        }
        if json, let last { print(ScaleReport.json(results, config: last)) }
    }

    func makeConfig(nodes n: Int, shardGroups g: Int, batch b: Int) throws -> ScaleConfig {
        let pool = clientsPerGroup ?? 2 * b * ReplicaOptions().batchesInFlightMax
        var costs = NodeCostModel.measured
        if let fsyncUs {
            costs.logSyncNanos = UInt64(fsyncUs) * 1_000
            costs.shardCommitNanos = UInt64(fsyncUs) * 1_000
        }
        var config = ScaleConfig(seed: seed, nodes: n, groups: Self.placement(nodes: n, shardGroups: g, seed: seed),
                                 batch: b, sessions: (sessionsPerGroup ?? pool) * g, clientsPerGroup: pool, costs: costs)
        config.linkLatencyNanos = UInt64((linkMs * 1e6).rounded())
        config.linkBytesPerSecond = linkMbps == 0 ? nil : UInt64(linkMbps) * 125_000
        config.warmupNanos = UInt64(warmupMs) * 1_000_000
        config.measureNanos = UInt64(measureMs) * 1_000_000
        return config
    }

    /// The metadata group (0) and shard groups 1...g, 4 replicas each, by MeshDB's rendezvous
    /// placement over nodes named by index and seed; replica i is the i-th member by node index,
    /// as in `ClusterLayout.placeGroups`.
    static func placement(nodes n: Int, shardGroups g: Int, seed: UInt64) -> [[Int]] {
        let candidates = (0..<n).map { RendezvousHash.Candidate(id: "sim-\(seed)-node-\($0)") }
        return (0...g).map { group in
            RendezvousHash.groupOwners(group: group, size: groupSize, among: candidates)
                .map { owner in candidates.firstIndex(of: owner)! }
                .sorted()
        }
    }

    /// 1, 2, 4, ... up to 2N shard groups (each node in about two), N from 64 nodes on, to keep
    /// the sweep within minutes.
    static func autoGroups(nodes n: Int) -> [Int] {
        let top = n >= 64 ? n : 2 * n
        return Array(sequence(first: 1) { $0 * 2 <= top ? $0 * 2 : nil }) + (top.nonzeroBitCount == 1 ? [] : [top])
    }

    static func list(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingPrefix(" ")) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return values.map { $0! }
    }
}
