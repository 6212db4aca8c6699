/// View changes (OSDI'99 §4.4, liveness rules of §4.5.2; V/O sets and null requests per the
/// decision procedure of TOCS §4.5). VIEW-CHANGE and NEW-VIEW are signed so that a NEW-VIEW
/// proves itself to any replica, including one that missed the view change.
extension Replica {
    mutating func viewChangeTimerExpired(_ actions: inout [ReplicaAction]) {
        if inViewChange {
            // No NEW-VIEW in time: try the next view and wait twice as long (OSDI'99 §4.5.2).
            viewChangeTimeoutTicks = min(viewChangeTimeoutTicks * 2, options.viewChangeTimeoutTicksMax)
            startViewChange(to: view + 1, &actions)
        } else if !isPrimary && clients.pendingCount > 0 {
            startViewChange(to: view + 1, &actions)
        }
    }

    /// Our P set: for each sequence number, what we prepared in the latest view we prepared it.
    var preparedSet: [PreparedEntry] {
        slots.keys.sorted().compactMap { slots[$0]!.preparedEntry }.filter { $0.sequence > lowWaterMark }
    }

    /// Our Q set: each digest we pre-prepared per sequence number, with the latest view.
    var prePreparedSet: [PrePreparedEntry] {
        var entries: [PrePreparedEntry] = []
        for sequence in slots.keys.sorted() where sequence > lowWaterMark {
            for (digest, view) in slots[sequence]!.prePreparedViews.sorted(by: { $0.key < $1.key }) {
                entries.append(PrePreparedEntry(sequence: sequence, digest: digest, view: view))
            }
        }
        return entries
    }

    mutating func startViewChange(to newView: UInt64, _ actions: inout [ReplicaAction]) {
        precondition(newView > view, "view changes only move forward")
        view = newView
        inViewChange = true
        resetForViewChange(&actions)
        let vc = auth.signed(ViewChange(
            newView: newView, stable: stableCertificate, prepared: preparedSet, prePrepared: prePreparedSet,
            replica: index))
        myViewChange = vc
        latestViewChange[index] = vc
        persist(.viewChangeSent(vc), &actions)
        broadcast(.viewChange(vc), &actions)
        viewChangeProgress(&actions)
    }

    /// Clears everything that belonged to the old view; P and Q sets survive.
    mutating func resetForViewChange(_ actions: inout [ReplicaAction]) {
        for sequence in Array(slots.keys) { slots[sequence]!.resetForNewView() }
        readyQueue = []
        readyQueueHead = 0
        clients.clearBatchingMarks()
        if viewChangeTimerRunning {
            viewChangeTimerRunning = false
            if !restoring { actions.append(.cancelTimer(.viewChange)) }
        }
    }

    /// Checks a VIEW-CHANGE from a peer: signature, checkpoint proof, and P/Q entries inside the
    /// window above its checkpoint, from older views, with batches matching their digests.
    func isValid(_ vc: ViewChange) -> Bool {
        guard auth.verify(vc) else { return false }
        let stable = vc.stable
        if !stable.isGenesis {
            guard stable.sequence % options.checkpointIntervalSequences == 0,
                stable == stableCertificate || auth.verify(stable, quorum: quorum)
            else { return false }
        }
        let low = stable.sequence
        let high = low + options.logWindowSequences
        var previous = low
        for entry in vc.prepared {
            guard entry.sequence > previous, entry.sequence <= high, entry.view < vc.newView,
                entry.batch.count <= options.requestsPerBatchMax, batchDigest(entry.batch) == entry.digest
            else { return false }
            previous = entry.sequence
        }
        var previousQ: (UInt64, Digest)?
        for entry in vc.prePrepared {
            guard entry.sequence > low, entry.sequence <= high, entry.view < vc.newView else { return false }
            if let (sequence, digest) = previousQ {
                guard (sequence, digest) < (entry.sequence, entry.digest) else { return false }
            }
            previousQ = (entry.sequence, entry.digest)
        }
        return true
    }

    mutating func receiveViewChange(_ vc: ViewChange, _ actions: inout [ReplicaAction]) {
        guard vc.newView > view || (vc.newView == view && inViewChange) else {
            // The sender is behind: our NEW-VIEW proves the view it missed.
            if !inViewChange, let nv = lastNewView, nv.view == view {
                send(.newView(nv), to: [.replica(vc.replica)], &actions)
            }
            return
        }
        if let existing = latestViewChange[vc.replica], existing.newView >= vc.newView { return }
        guard isValid(vc) else { return drop(.invalidViewChange) }
        latestViewChange[vc.replica] = vc
        // f+1 VIEW-CHANGEs for views above ours: at least one correct replica wants to move on,
        // so join the smallest of those views (OSDI'99 §4.5.2).
        var higher: [UInt64] = []
        for (replica, other) in latestViewChange.enumerated() where replica != index {
            if let other, other.newView > view { higher.append(other.newView) }
        }
        if higher.count >= f + 1, let target = higher.min(), target > view {
            startViewChange(to: target, &actions)
            return
        }
        viewChangeProgress(&actions)
    }

    /// The VIEW-CHANGE messages for the view we are changing to, ordered by replica.
    var viewChangeSet: [ViewChange] {
        latestViewChange.compactMap { $0 }.filter { $0.newView == view }
    }

    /// Starts the NEW-VIEW timer once 2f+1 VIEW-CHANGEs are in (OSDI'99 §4.5.2) and, as the new
    /// primary, tries to decide.
    mutating func viewChangeProgress(_ actions: inout [ReplicaAction]) {
        guard inViewChange else { return }
        let set = viewChangeSet
        if !viewChangeTimerRunning && set.count >= quorum && !restoring {
            viewChangeTimerRunning = true
            actions.append(.setTimer(.viewChange, ticks: viewChangeTimeoutTicks))
        }
        guard isPrimary, set.count >= quorum,
            let decision = NewViewDecision.decide(set, configuration: configuration)
        else { return }
        let nv = auth.signed(NewView(
            view: view, viewChanges: set, checkpointSequence: decision.checkpoint.sequence,
            chosen: decision.chosen, replica: index))
        persist(.newView(nv), &actions)
        broadcast(.newView(nv), &actions)
        installNewView(nv, decision, &actions)
    }

    mutating func receiveNewView(_ nv: NewView, _ actions: inout [ReplicaAction]) {
        guard nv.replica == configuration.primary(ofView: nv.view) else { return drop(.wrongSender) }
        guard nv.view > view || (nv.view == view && inViewChange) else { return }
        guard auth.verify(nv) else { return drop(.badSignature) }
        var signers = Set<Int>()
        for vc in nv.viewChanges {
            guard vc.newView == nv.view, signers.insert(vc.replica).inserted,
                latestViewChange[vc.replica] == vc || isValid(vc)
            else { return drop(.invalidNewView) }
        }
        // O must be exactly what the decision procedure gives for V.
        guard let decision = NewViewDecision.decide(nv.viewChanges, configuration: configuration),
            decision.checkpoint.sequence == nv.checkpointSequence, decision.chosen == nv.chosen
        else { return drop(.invalidNewView) }
        persist(.newView(nv), &actions)
        installNewView(nv, decision, &actions)
    }

    /// Enters the new view: adopts its checkpoint, takes O as this view's pre-prepares, and as a
    /// backup multicasts PREPAREs for them.
    mutating func installNewView(_ nv: NewView, _ decision: NewViewDecision, _ actions: inout [ReplicaAction]) {
        precondition(nv.view >= view, "installing an older view")
        view = nv.view
        inViewChange = false
        resetForViewChange(&actions)
        lateSlots = [:]
        lastNewView = nv
        for vc in nv.viewChanges where (latestViewChange[vc.replica]?.newView ?? 0) < vc.newView {
            latestViewChange[vc.replica] = vc
        }
        let checkpoint = decision.checkpoint
        if checkpoint.sequence > lowWaterMark {
            if let own = ownCheckpoints[checkpoint.sequence], own.digest == checkpoint.stateDigest {
                makeStable(checkpoint, snapshot: own.snapshot, &actions)
            } else {
                adoptAndTransfer(checkpoint, &actions)
            }
        }
        for entry in nv.chosen where entry.sequence > lowWaterMark {
            let batch = entry.digest == nullBatchDigest ? [] : (decision.batches[entry.digest] ?? [])
            var slot = slots[entry.sequence] ?? Slot(replicaCount: configuration.replicaCount)
            slot.prePrepare = PrePrepare(view: view, sequence: entry.sequence, digest: entry.digest, batch: batch)
            slot.clientPositions = nil  // belong to whatever batch was here before; execution looks them up
            slot.prePreparedViews[entry.digest] = view
            if !isPrimary { slot.prepares[index] = entry.digest }
            slots[entry.sequence] = slot
            for request in batch {
                let c = clientEntry(request.client)
                clients.marks[c].assigned = max(clients.marks[c].assigned, request.timestamp)
            }
            if !isPrimary {
                broadcast(.prepare(Vote(view: view, sequence: entry.sequence, digest: entry.digest, replica: index)), &actions)
            }
        }
        lastAssigned = max(lowWaterMark, nv.chosen.last?.sequence ?? 0)
        if isPrimary {
            for c in clients.positionsWithPending { enqueueReady(c) }
        }
        for entry in nv.chosen where entry.sequence > lowWaterMark {
            advance(entry.sequence, &actions)
        }
        issueBatches(&actions)
        updateRequestTimer(&actions)
    }
}
