/// What a replica writes to its log so that, after a crash, it never contradicts a message it
/// sent and never loses a committed batch. The shell makes a record durable before any later
/// `send` of the same action list leaves the node.
///
/// - `prePrepare`: the pre-prepare we issued or accepted (implies our PREPARE): restores Q and
///   stops us accepting a different one for the same (v, n).
/// - `commitSent`: implies prepared(m, v, n): restores P.
/// - `executed`: the committed batch, written before its replies.
/// - `checkpoint`: a stable checkpoint with its snapshot; restore starts from the latest.
/// - `viewChangeSent` / `newView`: the view we are in, and the exact messages to re-send.
///
/// Compaction (left to the shell): once a `checkpoint` record for sequence c is durable, records
/// about sequence numbers at or below c, and view records older than the newest one, are no
/// longer needed; records about sequence numbers above c must be kept even if written earlier.
public enum PersistedRecord: Hashable, Sendable {
    case prePrepare(PrePrepare)
    case commitSent(Vote)
    case executed(sequence: UInt64, batch: [Request])
    case checkpoint(CheckpointCertificate, snapshot: [UInt8])
    case viewChangeSent(ViewChange)
    case newView(NewView)
    /// A certified checkpoint adopted before its snapshot arrived (state transfer begins): the
    /// window moved, so what the replica accepts afterwards above the old window must be
    /// replayed in the new one.
    case adoptedCheckpoint(CheckpointCertificate)
}

/// Bytes of a persisted record: the same layouts as the wire codec, behind a tag.
public struct PersistedRecordCodec: Sendable {
    public let codec: MessageCodec

    public init(codec: MessageCodec) { self.codec = codec }

    public func encode(_ record: PersistedRecord) -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        switch record {
        case .prePrepare(let pp): w.write(UInt8(1)); codec.write(pp, &w)
        case .commitSent(let vote): w.write(UInt8(2)); codec.write(vote, &w)
        case .executed(let sequence, let batch): w.write(UInt8(3)); w.write(sequence); codec.writeBatch(batch, &w)
        case .checkpoint(let certificate, let snapshot):
            w.write(UInt8(4)); codec.write(certificate, &w); w.writeBytes(snapshot)
        case .viewChangeSent(let vc): w.write(UInt8(5)); codec.write(vc, &w)
        case .newView(let nv): w.write(UInt8(6)); codec.write(nv, &w)
        case .adoptedCheckpoint(let certificate): w.write(UInt8(7)); codec.write(certificate, &w)
        }
        return w.bytes
    }

    public func decode(_ bytes: [UInt8]) throws(DecodeError) -> PersistedRecord {
        var r = ByteReader(bytes)
        let tag = try r.readU8("record tag")
        let record: PersistedRecord
        switch tag {
        case 1: record = .prePrepare(try codec.readPrePrepare(&r))
        case 2: record = .commitSent(try codec.readVote(&r))
        case 3:
            let sequence = try r.readU64("record sequence")
            record = .executed(sequence: sequence, batch: try codec.readBatch(&r))
        case 4:
            let certificate = try codec.readCertificate(&r)
            record = .checkpoint(certificate, snapshot: try r.readBytes("record snapshot", limit: codec.limits.snapshotBytesMax))
        case 5: record = .viewChangeSent(try codec.readViewChange(&r))
        case 6: record = .newView(try codec.readNewView(&r))
        case 7: record = .adoptedCheckpoint(try codec.readCertificate(&r))
        default: throw .unknownTag(field: "record", tag: tag)
        }
        try r.finish()
        return record
    }
}

extension Replica {
    /// Rebuilds a freshly created replica (with a fresh state machine) from its log, then
    /// starts it. Nothing is sent while replaying; afterwards the replica re-sends its
    /// VIEW-CHANGE if it was changing views and asks peers for what it missed.
    public mutating func restore(from records: [PersistedRecord]) -> [ReplicaAction] {
        precondition(lastExecuted == 0 && slots.isEmpty, "restore needs a freshly created replica")
        restoring = true
        var ignored: [ReplicaAction] = []
        for record in records { replay(record, &ignored) }
        restoring = false
        viewChangeTimerRunning = false
        var actions = start()
        if inViewChange {
            viewChangeProgress(&actions)
        } else {
            updateRequestTimer(&actions)
            issueBatches(&actions)
        }
        return actions
    }

    mutating func replay(_ record: PersistedRecord, _ actions: inout [ReplicaAction]) {
        switch record {
        case .checkpoint(let certificate, let snapshot):
            guard Digest.of(snapshot) == certificate.stateDigest else { return }
            if certificate.sequence >= lastExecuted {
                do { try restoreSnapshot(snapshot) } catch { return }
                lastExecuted = certificate.sequence
            }
            ownCheckpoints[certificate.sequence] = (certificate.stateDigest, snapshot)
            if certificate.sequence > lowWaterMark {
                stableCertificate = certificate
                stableSnapshot = snapshot
                garbageCollect()
            }
            if let target = transferTarget, target.sequence <= certificate.sequence { transferTarget = nil }
        case .viewChangeSent(let vc):
            guard vc.newView > view || (vc.newView == view && !inViewChange && lastNewView?.view != view) else { return }
            view = vc.newView
            inViewChange = true
            resetForViewChange(&actions)
            myViewChange = vc
            latestViewChange[index] = vc
        case .newView(let nv):
            guard nv.view > view || (nv.view == view && inViewChange),
                let decision = NewViewDecision.decide(nv.viewChanges, configuration: configuration)
            else { return }
            installNewView(nv, decision, &actions)
        case .prePrepare(let pp):
            guard pp.view == view, !inViewChange, inWindow(pp.sequence), slots[pp.sequence]?.prePrepare == nil else {
                return
            }
            acceptPrePrepare(pp, &actions)
            lastAssigned = max(lastAssigned, pp.sequence)
        case .commitSent(let vote):
            guard vote.view == view, !inViewChange, var slot = slots[vote.sequence], let pp = slot.prePrepare,
                pp.digest == vote.digest, !slot.sentCommit
            else { return }
            slot.sentCommit = true
            slot.commits[index] = vote.digest
            slot.preparedEntry = PreparedEntry(sequence: vote.sequence, view: vote.view, digest: vote.digest, batch: pp.batch)
            slots[vote.sequence] = slot
        case .adoptedCheckpoint(let certificate):
            guard certificate.sequence > lowWaterMark, certificate.sequence > lastExecuted else { return }
            adoptAndTransfer(certificate, &actions)
        case .executed(let sequence, let batch):
            guard sequence == lastExecuted + 1, sequence > lowWaterMark else { return }
            executeBatch(sequence: sequence, digest: batchDigest(batch), batch: batch, &actions)
        }
    }
}
