/// State transfer (TOCS §5.3, simplified to whole snapshots): a replica whose log no longer
/// reaches a stable checkpoint fetches the state at that checkpoint, checks it against the
/// certified digest, then catches up on the log suffix through normal retransmission.
extension Replica {
    /// Moves the low water mark to a certified checkpoint we cannot reach by executing, and
    /// asks the replicas that signed it for the state. The move is persisted first: a replica
    /// restarted from its log must be in the same window, or it would drop the pre-prepares and
    /// commits it accepted above the old window and could later prepare a conflicting batch at
    /// the same sequence number (found by review; `PersistenceTests`).
    mutating func adoptAndTransfer(_ certificate: CheckpointCertificate, _ actions: inout [ReplicaAction]) {
        precondition(certificate.sequence > lowWaterMark, "state transfer to a checkpoint we already passed")
        persist(.adoptedCheckpoint(certificate), &actions)
        stableCertificate = certificate
        stableSnapshot = nil
        transferTarget = certificate
        knownCertificate = nil
        garbageCollect()
        requestSnapshot(&actions)
    }

    func requestSnapshot(_ actions: inout [ReplicaAction]) {
        guard let target = transferTarget else { return }
        let signers = target.checkpoints.map(\.replica).filter { $0 != index }.map { Principal.replica($0) }
        send(.fetchSnapshot(FetchSnapshot(sequence: target.sequence, replica: index)),
             to: signers.isEmpty ? otherReplicas : signers, &actions)
    }

    /// Answers with our stable snapshot if it is at least as new as asked.
    mutating func receiveFetch(_ fetch: FetchSnapshot, _ actions: inout [ReplicaAction]) {
        guard let snapshot = stableSnapshot, !stableCertificate.isGenesis,
            stableCertificate.sequence >= fetch.sequence
        else { return }
        send(.snapshot(SnapshotTransfer(certificate: stableCertificate, state: snapshot, replica: index)),
             to: [.replica(fetch.replica)], &actions)
    }

    mutating func receiveSnapshot(_ transfer: SnapshotTransfer, _ actions: inout [ReplicaAction]) {
        let certificate = transfer.certificate
        guard certificate.sequence > lastExecuted, certificate.sequence >= lowWaterMark, !certificate.isGenesis else {
            return
        }
        // The state must hash to the certified digest: a lying peer cannot plant a state.
        guard Digest.of(transfer.state) == certificate.stateDigest else { return drop(.badSnapshot) }
        guard certificate == stableCertificate || auth.verify(certificate, quorum: quorum) else {
            return drop(.badCertificate)
        }
        installSnapshot(certificate, state: transfer.state, &actions)
    }

    mutating func installSnapshot(_ certificate: CheckpointCertificate, state: [UInt8], _ actions: inout [ReplicaAction]) {
        do {
            try restoreSnapshot(state)
        } catch {
            // 2f+1 replicas signed this digest, so this should not happen; still, it is peer
            // input, so it is dropped rather than trusted or trapped on.
            return drop(.badSnapshot)
        }
        lastExecuted = certificate.sequence
        ownCheckpoints[certificate.sequence] = (certificate.stateDigest, state)
        if let target = transferTarget, target.sequence <= certificate.sequence { transferTarget = nil }
        if !restoring {
            actions.append(.stateTransferred(sequence: certificate.sequence, stateDigest: certificate.stateDigest))
        }
        if certificate.sequence > lowWaterMark {
            makeStable(certificate, snapshot: state, &actions)
        } else {
            stableSnapshot = state
            persist(.checkpoint(certificate, snapshot: state), &actions)
        }
        executeCommitted(&actions)
        executeLateCommitted(&actions)
        issueBatches(&actions)
        restartRequestTimer(&actions)
    }
}
