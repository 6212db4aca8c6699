/// Checkpoints, water marks and garbage collection (OSDI'99 §4.3).
extension Replica {
    /// The checkpointed state: each client's last executed request (so exactly-once survives a
    /// state transfer) followed by the service's own snapshot. Clients are sorted: never bytes
    /// from a Dictionary.
    func takeSnapshot() -> [UInt8] {
        let records = clients.executedRecords
        var w = ByteWriter(capacity: 64 + records.count * 48)
        w.write(UInt32(records.count))
        for (client, record) in records {
            w.write(client)
            w.write(record.timestamp)
            w.writeBytes(record.result)
        }
        w.writeBytes(stateMachine.snapshot())
        return w.bytes
    }

    mutating func restoreSnapshot(_ bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        let count = try r.readCount("snapshot client count", limit: bytes.count / 20)
        var table: [UInt64: ClientRecord] = [:]
        for _ in 0..<count {
            let client = try r.readU64("snapshot client")
            let timestamp = try r.readU64("snapshot timestamp")
            let result = try r.readBytes("snapshot result", limit: auth.codec.limits.resultBytesMax)
            table[client] = ClientRecord(timestamp: timestamp, result: result)
        }
        let machine = try r.readBytes("snapshot service state", limit: auth.codec.limits.snapshotBytesMax)
        try r.finish()
        do {
            try stateMachine.restore(from: machine)
        } catch {
            throw .invalidValue(field: "snapshot service state", reason: "\(error)")
        }
        // The snapshot's records replace ours; queued requests it already executed are dropped.
        let auth = self.auth
        clients.restore(table) { auth.keySlot(for: .client($0)) }
    }

    /// After executing a multiple of K: digest the state, keep the snapshot until the
    /// checkpoint is stable, and multicast a signed CHECKPOINT.
    mutating func takeCheckpoint(_ actions: inout [ReplicaAction]) {
        let snapshot = takeSnapshot()
        let digest = Digest.of(snapshot)
        ownCheckpoints[lastExecuted] = (digest, snapshot)
        if !restoring {
            actions.append(.checkpointed(sequence: lastExecuted, stateDigest: digest))
        }
        let checkpoint = auth.signed(Checkpoint(sequence: lastExecuted, stateDigest: digest, replica: index))
        checkpointVotes[lastExecuted, default: [:]][index] = checkpoint
        broadcast(.checkpoint(checkpoint), &actions)
        checkStable(lastExecuted, &actions)
    }

    mutating func receiveCheckpoint(_ checkpoint: Checkpoint, _ actions: inout [ReplicaAction]) {
        let k = options.checkpointIntervalSequences
        guard checkpoint.sequence > lowWaterMark, checkpoint.sequence % k == 0,
            checkpoint.sequence <= lowWaterMark + 8 * options.logWindowSequences
        else { return drop(.outsideWaterMarks) }
        guard checkpointVotes[checkpoint.sequence]?[checkpoint.replica] == nil else { return }
        guard auth.verify(checkpoint) else { return drop(.badSignature) }
        checkpointVotes[checkpoint.sequence, default: [:]][checkpoint.replica] = checkpoint
        checkStable(checkpoint.sequence, &actions)
    }

    /// A checkpoint is stable once 2f+1 replicas signed the same digest for it.
    mutating func checkStable(_ sequence: UInt64, _ actions: inout [ReplicaAction]) {
        guard sequence > lowWaterMark, let votes = checkpointVotes[sequence] else { return }
        var counts: [Digest: Int] = [:]
        for vote in votes.values { counts[vote.stateDigest, default: 0] += 1 }
        // At most one digest reaches 2f+1: each replica has one vote here.
        guard let digest = counts.first(where: { $0.value >= quorum })?.key else { return }
        let signers = votes.values.filter { $0.stateDigest == digest }.sorted { $0.replica < $1.replica }
        let certificate = CheckpointCertificate(
            sequence: sequence, stateDigest: digest, checkpoints: Array(signers.prefix(quorum)))
        reachedCertificate(certificate, &actions)
    }

    /// A lagging peer hands us a proof of a stable checkpoint ahead of us.
    mutating func receiveCertificate(_ certificate: CheckpointCertificate, _ actions: inout [ReplicaAction]) {
        guard certificate.sequence > lowWaterMark, !certificate.isGenesis,
            certificate.sequence % options.checkpointIntervalSequences == 0,
            certificate.sequence > (knownCertificate?.sequence ?? 0) || ownCheckpoints[certificate.sequence] != nil
        else { return }
        guard auth.verify(certificate, quorum: quorum) else { return drop(.badCertificate) }
        reachedCertificate(certificate, &actions)
    }

    /// A verified certificate above the low water mark: stable if our own checkpoint matches;
    /// remembered if we have not got there yet; repaired by state transfer if we diverged.
    mutating func reachedCertificate(_ certificate: CheckpointCertificate, _ actions: inout [ReplicaAction]) {
        precondition(certificate.sequence > lowWaterMark, "certificate at or below the low water mark")
        if let own = ownCheckpoints[certificate.sequence] {
            if own.digest == certificate.stateDigest {
                makeStable(certificate, snapshot: own.snapshot, &actions)
            } else {
                adoptAndTransfer(certificate, &actions)
            }
        } else if certificate.sequence > lastExecuted {
            if certificate.sequence > (knownCertificate?.sequence ?? 0) {
                knownCertificate = certificate
            }
        }
        // The window may have moved.
        issueBatches(&actions)
    }

    mutating func makeStable(_ certificate: CheckpointCertificate, snapshot: [UInt8], _ actions: inout [ReplicaAction]) {
        precondition(Digest.of(snapshot) == certificate.stateDigest, "a stable snapshot matches its certificate")
        stableCertificate = certificate
        stableSnapshot = snapshot
        persist(.checkpoint(certificate, snapshot: snapshot), &actions)
        garbageCollect()
    }

    /// Discards every log entry, checkpoint and vote at or below the low water mark.
    mutating func garbageCollect() {
        let low = lowWaterMark
        slots = slots.filter { $0.key > low }
        lateSlots = lateSlots.filter { $0.key > low }
        ownCheckpoints = ownCheckpoints.filter { $0.key >= low }
        checkpointVotes = checkpointVotes.filter { $0.key > low }
        if let known = knownCertificate, known.sequence <= low { knownCertificate = nil }
        if lastAssigned < low { lastAssigned = low }
    }
}
