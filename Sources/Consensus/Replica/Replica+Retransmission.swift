/// Retransmission (TOCS §5.2): every replica periodically multicasts a STATUS saying where it is;
/// peers answer with what it is missing — the NEW-VIEW it missed, our VIEW-CHANGE, a stable
/// checkpoint proof, or the pre-prepares and votes of the slots above its last executed one.
/// With this, lossy links still make progress.
extension Replica {
    var status: Status {
        Status(view: view, inViewChange: inViewChange, lastExecuted: lastExecuted,
               stableSequence: lowWaterMark, replica: index)
    }

    func statusActions() -> [ReplicaAction] {
        var actions: [ReplicaAction] = []
        broadcast(.status(status), &actions)
        return actions
    }

    mutating func statusTick(_ actions: inout [ReplicaAction]) {
        broadcast(.status(status), &actions)
        if inViewChange, let vc = myViewChange {
            // VIEW-CHANGEs are re-sent until the view change completes (OSDI'99 §4.5.2).
            broadcast(.viewChange(vc), &actions)
        }
        if transferTarget != nil {
            requestSnapshot(&actions)
        } else if let known = knownCertificate, known.sequence > lastExecuted,
            lastExecuted == lastExecutedAtPreviousStatus
        {
            // We stopped making progress below a checkpoint the others made stable: the log we
            // would need is being garbage-collected, so fetch the state instead.
            adoptAndTransfer(known, &actions)
        }
        lastExecutedAtPreviousStatus = lastExecuted
        issueBatches(&actions)
    }

    mutating func receiveStatus(_ peerStatus: Status, _ actions: inout [ReplicaAction]) {
        let peer = Principal.replica(peerStatus.replica)
        let peerBehindInView = peerStatus.view < view
            || (peerStatus.view == view && peerStatus.inViewChange && !inViewChange)
        if peerBehindInView {
            if !inViewChange, let nv = lastNewView, nv.view == view {
                send(.newView(nv), to: [peer], &actions)
            } else if inViewChange, let vc = myViewChange {
                send(.viewChange(vc), to: [peer], &actions)
            }
        }
        if peerStatus.lastExecuted < lowWaterMark, !stableCertificate.isGenesis {
            send(.checkpointCertificate(stableCertificate), to: [peer], &actions)
        }
        for sequence in ownCheckpoints.keys.sorted()
        where sequence > peerStatus.stableSequence && sequence > lowWaterMark {
            if let mine = checkpointVotes[sequence]?[index] {
                send(.checkpoint(mine), to: [peer], &actions)
            }
        }
        answerLaggingViewChanger(peerStatus, &actions)
        // A peer claiming to be at or past our high water mark needs nothing from our log (and
        // a faulty one claiming UInt64.max must not overflow the arithmetic below).
        guard peerStatus.view == view, !peerStatus.inViewChange, !inViewChange,
            peerStatus.lastExecuted < highWaterMark
        else { return }
        var sequence = max(peerStatus.lastExecuted, lowWaterMark) + 1
        let end = min(sequence + options.retransmitSlotsMax - 1, highWaterMark)
        while sequence <= end {
            defer { sequence += 1 }
            guard let slot = slots[sequence], let pp = slot.prePrepare else { continue }
            let vote = Vote(view: view, sequence: sequence, digest: pp.digest, replica: index)
            if isPrimary {
                send(.prePrepare(pp), to: [peer], &actions)
            } else if slot.prepares[index] == pp.digest {
                send(.prepare(vote), to: [peer], &actions)
            }
            if slot.sentCommit {
                send(.commit(vote), to: [peer], &actions)
            }
        }
    }
}
