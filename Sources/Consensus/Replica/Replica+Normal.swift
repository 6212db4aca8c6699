/// Normal-case operation: request, pre-prepare, prepare, commit, execute, reply
/// (OSDI'99 §4.1-§4.2; batching per TOCS §5.1).
extension Replica {
    // MARK: Requests (OSDI'99 §4.1)

    mutating func receiveRequest(_ request: Request, from sender: Principal, _ actions: inout [ReplicaAction]) {
        // A request comes from its client, or is relayed by a backup (OSDI'99 §4.4).
        switch sender {
        case .client(let id): guard id == request.client else { return drop(.wrongSender) }
        case .replica: break
        }
        guard request.operation.count <= auth.codec.limits.operationBytesMax else { return drop(.batchTooLarge) }
        guard auth.verifyRequest(request, digest: request.digest) else { return drop(.badRequestMAC) }
        if let record = clientTable[request.client], request.timestamp <= record.timestamp {
            // Exactly once: the last reply is re-sent from the cache, older requests are ignored.
            if request.timestamp == record.timestamp, case .client = sender {
                sendReply(client: request.client, timestamp: record.timestamp, result: record.result, &actions)
            } else {
                drop(.staleRequest)
            }
            return
        }
        if let existing = pending[request.client], existing.timestamp >= request.timestamp {
            // Already known. A client re-sending to everybody suspects the primary: relay it.
            if !isPrimary, case .client = sender, existing.timestamp == request.timestamp, !inViewChange {
                send(.request(request), to: [.replica(primary)], &actions)
            }
            return
        }
        guard pending[request.client] != nil || pending.count < options.pendingClientsMax else {
            return drop(.staleRequest)
        }
        pending[request.client] = request
        if isPrimary && !inViewChange {
            enqueueReady(request.client)
            issueBatches(&actions)
        } else if !inViewChange, case .client = sender {
            send(.request(request), to: [.replica(primary)], &actions)
        }
        updateRequestTimer(&actions)
    }

    mutating func enqueueReady(_ client: UInt64) {
        guard !inReadyQueue.contains(client) else { return }
        inReadyQueue.insert(client)
        readyQueue.append(client)
    }

    /// The primary packs ready requests into pre-prepares while the window and the in-flight
    /// bound allow (TOCS §5.1).
    mutating func issueBatches(_ actions: inout [ReplicaAction]) {
        guard isPrimary, !inViewChange else { return }
        while lastAssigned < highWaterMark,
            lastAssigned - min(lastAssigned, lastExecuted) < UInt64(options.batchesInFlightMax),
            readyQueueHead < readyQueue.count
        {
            var batch: [Request] = []
            var bytes = 0
            while readyQueueHead < readyQueue.count, batch.count < options.requestsPerBatchMax {
                let client = readyQueue[readyQueueHead]
                guard let request = pending[client],
                    request.timestamp > (assigned[client] ?? 0),
                    request.timestamp > (clientTable[client]?.timestamp ?? 0)
                else {
                    readyQueueHead += 1
                    inReadyQueue.remove(client)
                    continue
                }
                if !batch.isEmpty && bytes + request.encodedByteCount > options.batchBytesMax { break }
                batch.append(request)
                bytes += request.encodedByteCount
                assigned[client] = request.timestamp
                readyQueueHead += 1
                inReadyQueue.remove(client)
            }
            if readyQueueHead > 1024 && readyQueueHead * 2 > readyQueue.count {
                readyQueue.removeFirst(readyQueueHead)
                readyQueueHead = 0
            }
            guard !batch.isEmpty else { break }
            lastAssigned += 1
            let pp = PrePrepare(view: view, sequence: lastAssigned, digest: batchDigest(batch), batch: batch)
            acceptPrePrepare(pp, &actions)
        }
    }

    // MARK: Pre-prepare (OSDI'99 §4.2)

    mutating func receivePrePrepare(_ pp: PrePrepare, _ actions: inout [ReplicaAction]) {
        if inViewChange && pp.view < view { return receiveLatePrePrepare(pp, &actions) }
        guard pp.view == view, !inViewChange else { return drop(.wrongView) }
        guard !isPrimary else { return drop(.wrongSender) }
        guard inWindow(pp.sequence) else { return drop(.outsideWaterMarks) }
        guard pp.batch.count <= options.requestsPerBatchMax else { return drop(.batchTooLarge) }
        if let existing = slots[pp.sequence]?.prePrepare {
            if existing.digest != pp.digest { drop(.conflictingPrePrepare) }
            return
        }
        // The digest is always recomputed: a pre-prepare is bound to exactly this batch.
        // (Each request's digest was computed from its bytes when the frame was decoded.)
        guard batchDigest(pp.batch) == pp.digest else { return drop(.badDigest) }
        for request in pp.batch where !auth.verifyRequest(request, digest: request.digest) {
            return drop(.badRequestMAC)
        }
        acceptPrePrepare(pp, &actions)
    }

    /// Records a pre-prepare (our own as primary, or accepted as backup), persists it, and as a
    /// backup multicasts the matching PREPARE.
    mutating func acceptPrePrepare(_ pp: PrePrepare, _ actions: inout [ReplicaAction]) {
        precondition(pp.view == view && inWindow(pp.sequence), "pre-prepare accepted outside the view or window")
        precondition(slots[pp.sequence]?.prePrepare == nil, "a second pre-prepare for one sequence number in one view")
        let isBackup = !isPrimary
        // Mutated in place: a copy of the slot would make every vote array copy-on-write.
        let n = configuration.replicaCount
        slots[pp.sequence, default: Slot(replicaCount: n)].prePrepare = pp
        slots[pp.sequence]!.prePreparedViews[pp.digest] = view
        if isBackup { slots[pp.sequence]!.prepares[index] = pp.digest }
        persist(.prePrepare(pp), &actions)
        if isBackup {
            broadcast(.prepare(Vote(view: view, sequence: pp.sequence, digest: pp.digest, replica: index)), &actions)
        } else {
            broadcast(.prePrepare(pp), &actions)
        }
        advance(pp.sequence, &actions)
    }

    // MARK: Prepare and commit (OSDI'99 §4.2)

    mutating func receivePrepare(_ vote: Vote, _ actions: inout [ReplicaAction]) {
        guard vote.view == view, !inViewChange else { return drop(.wrongView) }
        guard vote.replica != primary else { return drop(.wrongSender) }
        guard inWindow(vote.sequence) else { return drop(.outsideWaterMarks) }
        guard slots[vote.sequence]?.prepares[vote.replica] == nil else { return }
        let n = configuration.replicaCount
        slots[vote.sequence, default: Slot(replicaCount: n)].prepares[vote.replica] = vote.digest
        advance(vote.sequence, &actions)
    }

    mutating func receiveCommit(_ vote: Vote, _ actions: inout [ReplicaAction]) {
        if inViewChange && vote.view < view { return receiveLateCommit(vote, &actions) }
        guard vote.view == view, !inViewChange else { return drop(.wrongView) }
        guard inWindow(vote.sequence) else { return drop(.outsideWaterMarks) }
        guard slots[vote.sequence]?.commits[vote.replica] == nil else { return }
        let n = configuration.replicaCount
        slots[vote.sequence, default: Slot(replicaCount: n)].commits[vote.replica] = vote.digest
        advance(vote.sequence, &actions)
    }

    /// prepared(m, v, n, i): the pre-prepare plus 2f PREPAREs from distinct backups whose digest
    /// matches it. Votes are matched on the digest, never on (v, n) alone.
    func isPrepared(_ slot: Slot) -> Bool {
        guard let pp = slot.prePrepare else { return false }
        var matching = 0
        for (replica, digest) in slot.prepares.enumerated() where replica != primary && digest != nil {
            if digest == pp.digest || options.brokenVoteMatchingForTests { matching += 1 }
        }
        return matching >= 2 * f
    }

    /// committed-local(m, v, n, i): prepared plus 2f+1 matching COMMITs (possibly ours).
    func isCommittedLocal(_ slot: Slot) -> Bool {
        guard let pp = slot.prePrepare, slot.sentCommit else { return false }
        let broken = options.brokenVoteMatchingForTests
        return slot.commits.lazy.filter { $0 == pp.digest || (broken && $0 != nil) }.count >= quorum
    }

    mutating func advance(_ sequence: UInt64, _ actions: inout [ReplicaAction]) {
        guard let pp = slots[sequence]?.prePrepare else { return }
        if !slots[sequence]!.sentCommit && isPrepared(slots[sequence]!) {
            slots[sequence]!.sentCommit = true
            slots[sequence]!.preparedEntry = PreparedEntry(sequence: sequence, view: view, digest: pp.digest, batch: pp.batch)
            slots[sequence]!.commits[index] = pp.digest
            let vote = Vote(view: view, sequence: sequence, digest: pp.digest, replica: index)
            persist(.commitSent(vote), &actions)
            broadcast(.commit(vote), &actions)
        }
        if !slots[sequence]!.committed && isCommittedLocal(slots[sequence]!) {
            slots[sequence]!.committed = true
            executeCommitted(&actions)
        }
    }

    // MARK: Execution (OSDI'99 §4.2: strictly in sequence order)

    mutating func executeCommitted(_ actions: inout [ReplicaAction]) {
        var progressed = false
        while lastExecuted >= lowWaterMark, let slot = slots[lastExecuted + 1], slot.committed,
            let pp = slot.prePrepare
        {
            precondition(pp.sequence == lastExecuted + 1, "slot keyed by the wrong sequence number")
            persist(.executed(sequence: pp.sequence, batch: pp.batch), &actions)
            executeBatch(sequence: pp.sequence, digest: pp.digest, batch: pp.batch, &actions)
            progressed = true
        }
        if progressed {
            viewChangeTimeoutTicks = options.viewChangeTimeoutTicks
            restartRequestTimer(&actions)
            issueBatches(&actions)
        }
    }

    /// Runs the requests of one batch that have not run before, replies, and checkpoints every K.
    mutating func executeBatch(sequence: UInt64, digest: Digest, batch: [Request], _ actions: inout [ReplicaAction]) {
        precondition(sequence == lastExecuted + 1, "execution out of sequence order")
        var fresh: [Request] = []
        fresh.reserveCapacity(batch.count)
        for request in batch {
            // Exactly once: a timestamp at or below the client's last executed one is skipped, even
            // when a faulty primary repeats a request within a batch or across sequence numbers.
            // The table takes the timestamp now (the result follows below), so a repeat inside
            // this batch is skipped too.
            // One hash lookup per request, not two: this runs for every request on every replica.
            if let known = clientTable.index(forKey: request.client) {
                guard request.timestamp > clientTable.values[known].timestamp else { continue }
                clientTable.values[known] = ClientRecord(timestamp: request.timestamp, result: [])
            } else {
                clientTable[request.client] = ClientRecord(timestamp: request.timestamp, result: [])
            }
            fresh.append(request)
        }
        let results = stateMachine.execute(sequence: sequence, requests: fresh)
        precondition(results.count == fresh.count, "the state machine returns one result per request")
        for (request, result) in zip(fresh, results) {
            if let record = clientTable.index(forKey: request.client),
                clientTable.values[record].timestamp == request.timestamp
            {
                clientTable.values[record].result = result
            }
            if !pending.isEmpty, let p = pending[request.client], p.timestamp <= request.timestamp {
                pending[request.client] = nil
            }
            sendReply(client: request.client, timestamp: request.timestamp, result: result, &actions)
        }
        lastExecuted = sequence
        if !restoring {
            actions.append(.executed(sequence: sequence, batchDigest: digest, requests: fresh))
        }
        if sequence % options.checkpointIntervalSequences == 0 {
            takeCheckpoint(&actions)
        }
    }

    func sendReply(client: UInt64, timestamp: UInt64, result: [UInt8], _ actions: inout [ReplicaAction]) {
        let reply = Reply(view: view, timestamp: timestamp, client: client, replica: index, result: result)
        send(.reply(reply), to: [.client(client)], &actions)
    }

    // MARK: Request timer (OSDI'99 §4.4: a backup suspects the primary)

    mutating func updateRequestTimer(_ actions: inout [ReplicaAction]) {
        guard !inViewChange, !restoring else { return }
        let waiting = !isPrimary && !pending.isEmpty
        if waiting && !viewChangeTimerRunning {
            viewChangeTimerRunning = true
            actions.append(.setTimer(.viewChange, ticks: viewChangeTimeoutTicks))
        } else if !waiting && viewChangeTimerRunning {
            viewChangeTimerRunning = false
            actions.append(.cancelTimer(.viewChange))
        }
    }

    /// Progress was made: the timer restarts if requests are still waiting.
    mutating func restartRequestTimer(_ actions: inout [ReplicaAction]) {
        guard !inViewChange, !restoring else { return }
        if viewChangeTimerRunning {
            viewChangeTimerRunning = false
            actions.append(.cancelTimer(.viewChange))
        }
        updateRequestTimer(&actions)
    }
}
