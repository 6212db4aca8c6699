/// Tunables of a replica. Times are abstract ticks; the shell decides how long a tick is.
public struct ReplicaOptions: Sendable, Hashable {
    /// Requests the primary packs into one pre-prepare at most (TOCS §5.1, batching).
    public var requestsPerBatchMax = 64
    /// Encoded request bytes in one pre-prepare at most; a single larger request still goes alone.
    public var batchBytesMax = 1 << 20
    /// Sequence numbers the primary has assigned but not yet executed, at most.
    public var batchesInFlightMax = 4
    /// K: a checkpoint is taken every K sequence numbers (OSDI'99 §4.3).
    public var checkpointIntervalSequences: UInt64 = 16
    /// L: the high water mark is the low one plus L (OSDI'99 §4.3); a multiple of K.
    public var logWindowSequences: UInt64 = 64
    /// T: the first view-change timeout; it doubles on each view change without progress
    /// (OSDI'99 §4.5.2).
    public var viewChangeTimeoutTicks: UInt64 = 400
    /// Cap on the doubled timeout, so that a long run of faults cannot push liveness out forever.
    public var viewChangeTimeoutTicksMax: UInt64 = 400 * 64
    /// How often a replica multicasts its status (and re-sends view changes) for retransmission.
    public var statusIntervalTicks: UInt64 = 50
    /// Slots re-sent to one lagging peer per status message.
    public var retransmitSlotsMax: UInt64 = 16
    /// Distinct clients with a queued request, at most: bounds the memory a flood can take.
    public var pendingClientsMax = 100_000
    /// FOR CHECKER TESTS ONLY: counts PREPAREs and COMMITs by (view, sequence) without comparing
    /// digests — the bug class where votes for different batches make a certificate. The
    /// simulator's tests turn it on to show that the agreement checker can fail.
    public var brokenVoteMatchingForTests = false

    public init() {}
}
