/// Catching up while waiting alone in a view change.
///
/// A backup whose request timer expires moves to view v+1 and from then on accepts no
/// PRE-PREPARE, PREPARE or COMMIT of view v (OSDI'99 §4.4). If fewer than f others suspect the
/// primary too — typically while a cluster is still starting and a backup's first request waits
/// for a quorum to come up — nobody joins it (§4.5.2 needs f+1 VIEW-CHANGEs), and until some
/// later view change its state stands still, and so does every read served from it.
///
/// Executing is not voting. A pre-prepare with 2f+1 matching COMMITs of one view proves the
/// batch committed at that sequence number (committed-local implies committed, TOCS §4.2), and
/// the view-change protocol keeps every committed batch at its sequence number in every later
/// view (TOCS §4.4, safety). So the replica may execute such a batch, in sequence order, without
/// taking part in view v: it sends no PREPARE or COMMIT for it, so its P and Q sets and the
/// VIEW-CHANGE it already sent stay true. Peers still in view v answer its STATUS with their
/// committed slots above its last executed one (`answerLaggingViewChanger`).
extension Replica {
    /// What a replica waiting in a view change has heard about one sequence number of an older
    /// view. Bounded: at most one batch per replica and one COMMIT per replica.
    struct LateSlot {
        /// Batches by digest, from pre-prepares of older views (each from that view's primary,
        /// its digest recomputed).
        var batches: [Digest: [Request]] = [:]
        /// The newest COMMIT of an older view from each replica.
        var commits: [Vote?]

        init(replicaCount: Int) {
            commits = Array(repeating: nil, count: replicaCount)
        }

        /// The batch 2f+1 COMMITs of one view agree on, if we hold it. Replicas are scanned in
        /// index order, so the answer never depends on dictionary order.
        func certified(quorum: Int) -> (digest: Digest, batch: [Request])? {
            for case let candidate? in commits {
                guard let batch = batches[candidate.digest] else { continue }
                let matching = commits.lazy.filter { $0?.view == candidate.view && $0?.digest == candidate.digest }.count
                if matching >= quorum { return (candidate.digest, batch) }
            }
            return nil
        }
    }

    /// A PRE-PREPARE of an older view, received while we wait in a view change. The sender was
    /// checked to be that view's primary.
    mutating func receiveLatePrePrepare(_ pp: PrePrepare, _ actions: inout [ReplicaAction]) {
        guard pp.sequence > lastExecuted, inWindow(pp.sequence) else { return drop(.outsideWaterMarks) }
        guard pp.batch.count <= options.requestsPerBatchMax else { return drop(.batchTooLarge) }
        var late = lateSlots[pp.sequence] ?? LateSlot(replicaCount: configuration.replicaCount)
        guard late.batches[pp.digest] == nil else { return }
        // One batch per possible primary at most: a faulty one cannot grow this without bound.
        guard late.batches.count < configuration.replicaCount else { return drop(.conflictingPrePrepare) }
        // The batch matches the digest: `Authenticator.open` checked it (Replica+Normal.swift).
        for request in pp.batch where !auth.verifyRequest(request, digest: request.digest) {
            return drop(.badRequestMAC)
        }
        late.batches[pp.digest] = pp.batch
        lateSlots[pp.sequence] = late
        executeLateCommitted(&actions)
    }

    /// A COMMIT of an older view, received while we wait in a view change.
    mutating func receiveLateCommit(_ vote: Vote, _ actions: inout [ReplicaAction]) {
        guard vote.sequence > lastExecuted, inWindow(vote.sequence) else { return drop(.outsideWaterMarks) }
        var late = lateSlots[vote.sequence] ?? LateSlot(replicaCount: configuration.replicaCount)
        if let known = late.commits[vote.replica], known.view >= vote.view { return }
        late.commits[vote.replica] = vote
        lateSlots[vote.sequence] = late
        executeLateCommitted(&actions)
    }

    /// Executes, in sequence order, every batch a commit certificate of an older view proves.
    mutating func executeLateCommitted(_ actions: inout [ReplicaAction]) {
        var progressed = false
        while lastExecuted >= lowWaterMark, let late = lateSlots[lastExecuted + 1],
            let (digest, batch) = late.certified(quorum: quorum)
        {
            let sequence = lastExecuted + 1
            persist(.executed(sequence: sequence, batch: batch), &actions)
            executeBatch(sequence: sequence, digest: digest, batch: batch, &actions)
            progressed = true
        }
        if progressed {
            lateSlots = lateSlots.filter { $0.key > lastExecuted }
        }
    }

    /// A peer waits in a view change to a view above ours, which we have not joined, and has
    /// executed less than we have: send it what it needs to execute our committed slots — the
    /// pre-prepare if we are their primary, and our COMMIT.
    func answerLaggingViewChanger(_ peerStatus: Status, _ actions: inout [ReplicaAction]) {
        guard peerStatus.inViewChange, peerStatus.view > view, !inViewChange,
            peerStatus.lastExecuted < lastExecuted
        else { return }
        let peer = Principal.replica(peerStatus.replica)
        var sequence = max(peerStatus.lastExecuted, lowWaterMark) + 1
        let end = min(lastExecuted, sequence + options.retransmitSlotsMax - 1)
        while sequence <= end {
            defer { sequence += 1 }
            guard let slot = slots[sequence], slot.committed, let pp = slot.prePrepare else { continue }
            if isPrimary {
                send(.prePrepare(pp), to: [peer], &actions)
            }
            send(.commit(Vote(view: view, sequence: sequence, digest: pp.digest, replica: index)), to: [peer], &actions)
        }
    }
}
