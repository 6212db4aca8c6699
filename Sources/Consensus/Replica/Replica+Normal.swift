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
        // Clients outside the key directory have no key, so their requests fail here.
        guard let c = clients.position(of: request.client), let keySlot = clients.marks[c].keySlot,
            auth.verifyRequest(request, keySlot: keySlot)
        else { return drop(.badRequestMAC) }
        let marks = clients.marks[c]
        if let executed = marks.executed, request.timestamp <= executed {
            // Exactly once: the last reply is re-sent from the cache, older requests are ignored.
            if request.timestamp == executed, case .client = sender {
                sendReply(c, timestamp: executed, result: clients.results[c], &actions)
            } else {
                drop(.staleRequest)
            }
            return
        }
        if let existing = marks.pending, existing >= request.timestamp {
            // Already known. A client re-sending to everybody suspects the primary: relay it.
            if !isPrimary, case .client = sender, existing == request.timestamp, !inViewChange {
                send(.request(request), to: [.replica(primary)], &actions)
            }
            return
        }
        guard marks.pending != nil || clients.pendingCount < options.pendingClientsMax else {
            return drop(.staleRequest)
        }
        clients.setPending(c, request)
        if isPrimary && !inViewChange {
            enqueueReady(c)
            issueBatches(&actions)
        } else if !inViewChange, case .client = sender {
            send(.request(request), to: [.replica(primary)], &actions)
        }
        updateRequestTimer(&actions)
    }

    /// The position of `client`'s entry, created for one outside the key directory (met in a
    /// transferred snapshot or a new view's batch).
    mutating func clientEntry(_ client: UInt64) -> Int {
        if let c = clients.position(of: client) { return c }
        let keySlot = auth.keySlot(for: .client(client))
        return clients.position(creating: client, keySlot: keySlot)
    }

    mutating func enqueueReady(_ c: Int) {
        guard !clients.marks[c].inReadyQueue else { return }
        clients.marks[c].inReadyQueue = true
        readyQueue.append(c)
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
            var positions: [Int] = []
            var bytes = 0
            while readyQueueHead < readyQueue.count, batch.count < options.requestsPerBatchMax {
                let c = readyQueue[readyQueueHead]
                let marks = clients.marks[c]
                guard let timestamp = marks.pending, timestamp > marks.assigned, timestamp > (marks.executed ?? 0) else {
                    readyQueueHead += 1
                    clients.marks[c].inReadyQueue = false
                    continue
                }
                let request = clients.pending[c]!
                if !batch.isEmpty && bytes + request.encodedByteCount > options.batchBytesMax { break }
                batch.append(request)
                positions.append(c)
                bytes += request.encodedByteCount
                clients.marks[c].assigned = timestamp
                readyQueueHead += 1
                clients.marks[c].inReadyQueue = false
            }
            if readyQueueHead > 1024 && readyQueueHead * 2 > readyQueue.count {
                readyQueue.removeFirst(readyQueueHead)
                readyQueueHead = 0
            }
            guard !batch.isEmpty else { break }
            lastAssigned += 1
            let pp = PrePrepare(view: view, sequence: lastAssigned, digest: batchDigest(batch), batch: batch)
            acceptPrePrepare(pp, clientPositions: positions, &actions)
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
        // The batch matches the digest: `Authenticator.open` recomputed it from the request
        // digests taken while decoding, since the frame's MAC covers only ⟨PRE-PREPARE, v, n, d⟩.
        // Each request's client is looked up once, here: execution reuses the positions.
        var positions: [Int] = []
        positions.reserveCapacity(pp.batch.count)
        for i in pp.batch.indices {
            guard let c = clients.position(of: pp.batch[i].client), let keySlot = clients.marks[c].keySlot,
                auth.verifyRequest(pp.batch[i], keySlot: keySlot)
            else { return drop(.badRequestMAC) }
            positions.append(c)
        }
        acceptPrePrepare(pp, clientPositions: positions, &actions)
    }

    /// Records a pre-prepare (our own as primary, or accepted as backup), persists it, and as a
    /// backup multicasts the matching PREPARE.
    mutating func acceptPrePrepare(_ pp: PrePrepare, clientPositions: [Int]? = nil, _ actions: inout [ReplicaAction]) {
        precondition(pp.view == view && inWindow(pp.sequence), "pre-prepare accepted outside the view or window")
        precondition(slots[pp.sequence]?.prePrepare == nil, "a second pre-prepare for one sequence number in one view")
        let isBackup = !isPrimary
        // Mutated in place: a copy of the slot would make every vote array copy-on-write.
        let n = configuration.replicaCount
        slots[pp.sequence, default: Slot(replicaCount: n)].prePrepare = pp
        slots[pp.sequence]!.clientPositions = clientPositions
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
        // The slot is read in place: copying it out would retain its vote arrays and batch.
        while lastExecuted >= lowWaterMark, let at = slots.index(forKey: lastExecuted + 1),
            slots.values[at].committed, let pp = slots.values[at].prePrepare
        {
            precondition(pp.sequence == lastExecuted + 1, "slot keyed by the wrong sequence number")
            persist(.executed(sequence: pp.sequence, batch: pp.batch), &actions)
            executeBatch(sequence: pp.sequence, digest: pp.digest, batch: pp.batch,
                         clientPositions: slots.values[at].clientPositions, &actions)
            progressed = true
        }
        if progressed {
            viewChangeTimeoutTicks = options.viewChangeTimeoutTicks
            restartRequestTimer(&actions)
            issueBatches(&actions)
        }
    }

    /// Runs the requests of one batch that have not run before, replies, and checkpoints every K.
    /// `clientPositions`, when given, are the batch's clients' positions in `clients`.
    mutating func executeBatch(
        sequence: UInt64, digest: Digest, batch: [Request], clientPositions: [Int]? = nil,
        _ actions: inout [ReplicaAction]
    ) {
        precondition(sequence == lastExecuted + 1, "execution out of sequence order")
        precondition(clientPositions.map { $0.count == batch.count } ?? true, "one client position per request")
        // Exactly once: a timestamp at or below the client's last executed one is skipped, even
        // when a faulty primary repeats a request within a batch or across sequence numbers.
        // The record takes the timestamp now (the result follows below), so a repeat inside
        // this batch is skipped too. Requests are read in place, never copied out of the batch,
        // and `fresh` is built only once a request is skipped: usually the batch runs as it is.
        var positions = clientPositions ?? []
        var fresh: [Request]?
        var freshPositions: [Int] = []
        for i in batch.indices {
            let c: Int
            if clientPositions != nil {
                c = positions[i]
            } else {
                c = clientEntry(batch[i].client)
                positions.append(c)
            }
            let timestamp = batch[i].timestamp
            let isNew = clients.marks[c].executed.map { timestamp > $0 } ?? true
            if isNew {
                clients.markExecuted(c, timestamp: timestamp)
            }
            if !isNew && fresh == nil {
                fresh = Array(batch[..<i])
                freshPositions = Array(positions[..<i])
            } else if isNew && fresh != nil {
                fresh!.append(batch[i])
                freshPositions.append(c)
            }
        }
        let ran = fresh ?? batch
        let ranPositions = fresh == nil ? positions : freshPositions
        let results = stateMachine.execute(sequence: sequence, requests: ran)
        precondition(results.count == ran.count, "the state machine returns one result per request")
        for i in ran.indices {
            let c = ranPositions[i]
            let timestamp = ran[i].timestamp
            let marks = clients.marks[c]
            if marks.executed == timestamp {
                clients.setResult(c, results[i])
            }
            if let waiting = marks.pending, waiting <= timestamp {
                clients.clearPending(c)
            }
            sendReply(c, timestamp: timestamp, result: results[i], &actions)
        }
        lastExecuted = sequence
        if !restoring {
            actions.append(.executed(sequence: sequence, batchDigest: digest, requests: ran))
        }
        if sequence % options.checkpointIntervalSequences == 0 {
            takeCheckpoint(&actions)
        }
    }

    /// Replies to the client of entry `c`, with the key and recipient list the entry keeps.
    /// `mutating` only so that it reads the replica in place: a non-mutating call from a mutating
    /// method copied the whole replica (address-only, for its state-machine existential) per reply.
    mutating func sendReply(_ c: Int, timestamp: UInt64, result: [UInt8], _ actions: inout [ReplicaAction]) {
        guard !restoring else { return }
        let client = clients.ids[c]
        let reply = Reply(view: view, timestamp: timestamp, client: client, replica: index, result: result)
        let frame = auth.seal(.reply(reply), to: .client(client), keySlot: clients.marks[c].keySlot)
        actions.append(.send(frame: frame, to: clients.replyRecipients[c]))
    }

    // MARK: Request timer (OSDI'99 §4.4: a backup suspects the primary)

    mutating func updateRequestTimer(_ actions: inout [ReplicaAction]) {
        guard !inViewChange, !restoring else { return }
        let waiting = !isPrimary && clients.pendingCount > 0
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
