/// The timers a replica asks its shell to run.
public enum ReplicaTimer: Hashable, Sendable {
    /// Request progress in a view, or the wait for a NEW-VIEW (OSDI'99 §4.4, §4.5.2).
    case viewChange
    /// Periodic status multicast that drives retransmission (TOCS §5.2).
    case status
}

/// What a replica asks its shell to do, in order. A `persist` must be durable before any later
/// `send` in the same list leaves the node: that is how a restarted replica never contradicts
/// what it said before.
public enum ReplicaAction: Sendable {
    /// An authenticated frame for each recipient.
    case send(frame: [UInt8], to: [Principal])
    case persist(PersistedRecord)
    /// The batch at `sequence` executed: the requests that ran (duplicates filtered out).
    case executed(sequence: UInt64, batchDigest: Digest, requests: [Request])
    /// The replica took a checkpoint of its state after `sequence`.
    case checkpointed(sequence: UInt64, stateDigest: Digest)
    /// The replica replaced its state by a snapshot fetched from others (state transfer).
    case stateTransferred(sequence: UInt64, stateDigest: Digest)
    case setTimer(ReplicaTimer, ticks: UInt64)
    case cancelTimer(ReplicaTimer)
}

/// Why a replica ignored an incoming frame; counted, never fatal.
public enum DropReason: String, Sendable, CaseIterable {
    case unknownSender, badMAC, malformed, wrongSender, wrongView, outsideWaterMarks, badDigest, badRequestMAC
    case conflictingPrePrepare, badSignature, badCertificate, invalidViewChange, invalidNewView
    case staleRequest, unexpected, badSnapshot, batchTooLarge
}
