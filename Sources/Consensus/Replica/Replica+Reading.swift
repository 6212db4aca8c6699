extension Replica {
    /// The replicated state as executed so far, for reads served by the replica's own node
    /// (`local` reads, system tables). Read-only by construction: a copy of the existential; a
    /// state machine backed by files shares them, so callers must not write through it.
    public var stateMachineForReading: any ReplicatedStateMachine { stateMachine }
}
