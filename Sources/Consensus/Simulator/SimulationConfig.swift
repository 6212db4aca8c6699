/// One simulation run's settings. Everything random derives from `seed`.
public struct SimulationConfig: Sendable {
    public var seed: UInt64
    public var replicaCount: Int
    public var faults: FaultMode
    public var correctClients = 3
    /// Correct clients submit back to back through the fault phase, then this many more each
    /// once it healed; all must complete for the run to be live.
    public var requestsAfterHeal = 3
    /// Faults are active from tick 0 to here; then the network heals and crashed replicas restart.
    public var faultPhaseTicks: UInt64 = 2_500
    /// After healing, every correct client's requests must complete within this many ticks.
    public var livenessBoundTicks: UInt64 = 25_000
    public var replicaOptions: ReplicaOptions
    public var clientRetransmitTicks: UInt64 = 150
    /// A correct client waits up to this long between a result and its next request.
    public var clientThinkTicksMax: UInt64 = 40
    /// Forces the Byzantine behaviour of the faulty replicas instead of drawing it from the seed.
    public var forcedBehavior: ByzantineBehavior?
    /// Forces which replica is the (first) faulty one instead of drawing it from the seed.
    public var forcedFaultyReplica: Int?

    public init(seed: UInt64, replicaCount: Int = 4, faults: FaultMode = .all) {
        self.seed = seed
        self.replicaCount = replicaCount
        self.faults = faults
        var options = ReplicaOptions()
        options.requestsPerBatchMax = 8
        options.batchesInFlightMax = 3
        options.checkpointIntervalSequences = 8
        options.logWindowSequences = 32
        options.viewChangeTimeoutTicks = 200
        options.viewChangeTimeoutTicksMax = 200 * 16
        options.statusIntervalTicks = 40
        self.replicaOptions = options
    }
}

/// What a run found.
public struct SimulationResult: Sendable {
    public var seed: UInt64
    public var violations: [String]
    public var livenessFailure: Bool
    /// Requests of correct clients that completed (f+1 matching replies).
    public var committed: Int
    /// SHA-256 over every delivery and completion, in order: equal for equal seeds.
    public var traceDigest: Digest
    public var simulatedTicks: UInt64
    public var deliveredFrames: Int
    /// The faults this seed drew, for the replay line.
    public var scenario: String
    public var highestView: UInt64

    public var passed: Bool { violations.isEmpty && !livenessFailure }
}
