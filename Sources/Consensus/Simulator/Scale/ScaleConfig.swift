/// One run of the scale simulation: N nodes, the PBFT groups placed over them, closed-loop
/// sessions writing keys spread over the shard groups, and the cost of everything a node does.
/// Simulated time is in nanoseconds (a replica tick is one nanosecond here). Everything random
/// derives from `seed`.
public struct ScaleConfig: Sendable {
    public var seed: UInt64
    public var nodes: Int
    /// Node indexes of each group's replicas, replica i of the group on `groups[g][i]` (as in
    /// `ClusterLayout`). Group 0 is the metadata group, which orders no writes here; groups 1...
    /// are the shard groups the sessions write to.
    public var groups: [[Int]]
    public var costs: NodeCostModel
    /// One-way latency of every link, node to node and client to node.
    public var linkLatencyNanos: UInt64 = 1_000_000
    /// Bytes per second of each directed node-to-node link, or nil for no transfer time. A frame
    /// occupies its link for bytes / rate, so big pre-prepares queue behind each other.
    public var linkBytesPerSecond: UInt64? = 125_000_000
    /// Closed-loop sessions: each writes one key, waits for its result, writes the next.
    public var sessions: Int
    /// PBFT clients per shard group (a gateway's pool): a session whose key falls in a group
    /// with none free waits for one, as `NodeRuntime` queues requests for a free gateway client.
    public var clientsPerGroup: Int
    /// Bytes of each write's operation.
    public var operationBytes = 100
    /// Simulated time before measuring starts (pipelines fill, first checkpoints pass).
    public var warmupNanos: UInt64 = 50_000_000
    /// Simulated time measured after the warmup.
    public var measureNanos: UInt64 = 200_000_000
    public var replicaOptions: ReplicaOptions
    /// How long a PBFT client waits for f+1 replies before re-sending to every replica (1 s:
    /// `NodeRuntime`'s 100 ticks of 10 ms).
    public var clientRetransmitNanos: UInt64 = 1_000_000_000

    /// A run with `NodeRuntime`'s protocol settings in nanosecond ticks and `batch` requests per
    /// pre-prepare at most.
    public init(seed: UInt64, nodes: Int, groups: [[Int]], batch: Int, sessions: Int, clientsPerGroup: Int,
                costs: NodeCostModel = .measured) {
        self.seed = seed
        self.nodes = nodes
        self.groups = groups
        self.costs = costs
        self.sessions = sessions
        self.clientsPerGroup = clientsPerGroup
        var options = ReplicaOptions()
        options.requestsPerBatchMax = batch
        // NodeRuntime.Options: K = 128, L = 512, view change after 2 s (doubling up to 32 s),
        // status every 200 ms (ticks of 10 ms there).
        options.checkpointIntervalSequences = 128
        options.logWindowSequences = 512
        options.viewChangeTimeoutTicks = 2_000_000_000
        options.viewChangeTimeoutTicksMax = 32_000_000_000
        options.statusIntervalTicks = 200_000_000
        replicaOptions = options
    }

    /// Shard groups the sessions write to (every group but the metadata group).
    public var shardGroups: Int { groups.count - 1 }

    public var batch: Int { replicaOptions.requestsPerBatchMax }
}

/// What one scale run measured, over the measurement window only.
public struct ScaleResult: Sendable, Hashable {
    public var nodes: Int
    public var shardGroups: Int
    public var batch: Int
    public var sessions: Int
    /// Writes whose f+1 matching replies reached their client inside the window.
    public var orderedWrites: Int
    public var writesPerSecond: Double
    /// Latency of those writes, from the session's submit to its result (a wait for a free PBFT
    /// client included), in simulated nanoseconds.
    public var latencyP50Nanos: UInt64
    public var latencyP99Nanos: UInt64
    /// Per node: the share of the window its serial queue was busy (at most 1).
    public var nodeBusy: [Double]
    /// Per node: the share of the window spent waiting on fsync (log syncs and shard commits),
    /// part of `nodeBusy`.
    public var nodeFsync: [Double]
    /// Per node: how many groups it is a replica of, and of how many it is the primary.
    public var nodeGroups: [Int]
    public var nodePrimaries: [Int]
    /// Safety violations the per-group checkers found (none is the only acceptable answer).
    public var violations: [String]
    /// The highest view any replica reached: above 0 means a view change happened.
    public var highestView: UInt64
    /// SHA-256 over every completion in order: equal for equal configurations and seeds.
    public var traceDigest: Digest

    /// The node whose queue was busiest (the lowest index among equals).
    public var busiestNode: Int {
        nodeBusy.indices.max { nodeBusy[$0] < nodeBusy[$1] || (nodeBusy[$0] == nodeBusy[$1] && $0 > $1) } ?? 0
    }
}
