import Testing
@testable import Consensus

/// OSDI'99 §4.1-§4.2 (normal case) and TOCS §5.1-§5.2 (batching, retransmission).
@Suite struct NormalCaseTests {
    func request(_ cluster: TestCluster, client: UInt64 = 1, timestamp: UInt64, operation: [UInt8] = [1]) -> Request {
        cluster.clients[client]!.makeRequest(operation: operation, timestamp: timestamp)
    }

    func chain(_ replica: Replica) -> HashChainStateMachine {
        replica.stateMachine as! HashChainStateMachine
    }

    @Test func osdi4_2_requestIsPreparedCommittedAndExecutedByEveryReplica() {
        var cluster = TestCluster()
        cluster.submit("set x 1")
        cluster.deliverAll()
        #expect(cluster.completed[1]?.count == 1)
        for i in 0..<4 {
            #expect(cluster.executed[i].map(\.sequence) == [1])
            #expect(cluster.replicas[i].stateDigest == cluster.replicas[0].stateDigest)
        }
    }

    @Test func osdi4_1_singleReplicaGroupWithFZeroCommitsAlone() {
        var cluster = TestCluster(replicaCount: 1)
        cluster.submit("a")
        cluster.deliverAll()
        cluster.submit("b")
        cluster.deliverAll()
        #expect(cluster.completed[1]?.count == 2)
        #expect(cluster.executed[0].map(\.sequence) == [1, 2])
    }

    @Test func osdi4_1_duplicateRequestIsAnsweredFromTheReplyCacheAndNotReExecuted() {
        var cluster = TestCluster()
        cluster.submit("once")
        cluster.deliverAll()
        let again = request(cluster, timestamp: 1, operation: Array("once".utf8))
        let frame = cluster.authenticator(forClient: 1).seal(.request(again), to: [.replica(2)])
        let actions = cluster.replicas[2].receive(frame: frame)
        let replies = actions.compactMap { action -> Reply? in
            guard case .send(let f, let to) = action, to == [.client(1)],
                case .reply(let reply)? = cluster.authenticator(forReplica: 0).peek(f)?.message
            else { return nil }
            return reply
        }
        #expect(replies.count == 1 && replies[0].timestamp == 1)
        cluster.deliverAll()
        #expect(chain(cluster.replicas[2]).operationCount == 1)
        #expect(cluster.executed[2].count == 1)
    }

    /// Regression: PREPAREs matched on (view, sequence) without the digest let votes for another
    /// batch complete a certificate.
    @Test func osdi4_2_preparesForADifferentDigestDoNotMakeAReplicaPrepared() {
        var cluster = TestCluster()
        let batchA = [request(cluster, timestamp: 1, operation: [0xA])]
        let batchB = [request(cluster, timestamp: 1, operation: [0xB])]
        let primary = cluster.authenticator(forReplica: 0)
        let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(batchA), batch: batchA)
        cluster.apply(cluster.replicas[1].receive(frame: primary.seal(.prePrepare(pp), to: [.replica(1)])), from: 1)
        for voter in [2, 3] {
            let vote = Vote(view: 0, sequence: 1, digest: batchDigest(batchB), replica: voter)
            let frame = cluster.authenticator(forReplica: voter).seal(.prepare(vote), to: [.replica(1)])
            cluster.apply(cluster.replicas[1].receive(frame: frame), from: 1)
        }
        #expect(cluster.replicas[1].slots[1]?.sentCommit == false)
        #expect(!cluster.inFlightKinds().contains("commit"))
        // Two PREPAREs that match the pre-prepare's digest do prepare it.
        var fresh = TestCluster()
        _ = fresh.replicas[1].receive(frame: primary.seal(.prePrepare(pp), to: [.replica(1)]))
        for voter in [2, 3] {
            let vote = Vote(view: 0, sequence: 1, digest: pp.digest, replica: voter)
            _ = fresh.replicas[1].receive(frame: fresh.authenticator(forReplica: voter).seal(.prepare(vote), to: [.replica(1)]))
        }
        #expect(fresh.replicas[1].slots[1]?.sentCommit == true)
    }

    @Test func osdi4_2_prePrepareWhoseDigestDoesNotMatchItsBatchIsDropped() {
        var cluster = TestCluster()
        let batch = [request(cluster, timestamp: 1)]
        let pp = PrePrepare(view: 0, sequence: 1, digest: Digest.of([1]), batch: batch)
        let frame = cluster.authenticator(forReplica: 0).seal(.prePrepare(pp), to: [.replica(1)])
        #expect(cluster.replicas[1].receive(frame: frame).isEmpty)
        #expect(cluster.replicas[1].dropped[.badDigest] == 1)
    }

    @Test func osdi4_2_aSecondPrePrepareForOneSequenceNumberIsRejected() {
        var cluster = TestCluster()
        let primary = cluster.authenticator(forReplica: 0)
        let a = [request(cluster, timestamp: 1, operation: [1])]
        let b = [request(cluster, timestamp: 1, operation: [2])]
        for batch in [a, b] {
            let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)
            cluster.apply(cluster.replicas[1].receive(frame: primary.seal(.prePrepare(pp), to: [.replica(1)])), from: 1)
        }
        #expect(cluster.replicas[1].slots[1]?.prePrepare?.digest == batchDigest(a))
        #expect(cluster.replicas[1].dropped[.conflictingPrePrepare] == 1)
    }

    @Test func osdi4_2_prePrepareFromABackupIsDropped() {
        var cluster = TestCluster()
        let batch = [request(cluster, timestamp: 1)]
        let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)
        let frame = cluster.authenticator(forReplica: 2).seal(.prePrepare(pp), to: [.replica(1)])
        #expect(cluster.replicas[1].receive(frame: frame).isEmpty)
        #expect(cluster.replicas[1].dropped[.wrongSender] == 1)
    }

    @Test func osdi4_2_requestWithABadClientMACIsDropped() {
        var cluster = TestCluster()
        var forged = request(cluster, timestamp: 1)
        forged.operation = [0xFF]  // MACs no longer match the digest.
        let batch = [forged]
        let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)
        let frame = cluster.authenticator(forReplica: 0).seal(.prePrepare(pp), to: [.replica(1)])
        #expect(cluster.replicas[1].receive(frame: frame).isEmpty)
        #expect(cluster.replicas[1].dropped[.badRequestMAC] == 1)
    }

    /// Regression: a primary that puts one request at two sequence numbers (it changed the
    /// sequence number in one pre-prepare) must not get it executed twice.
    @Test func osdi4_1_requestAtTwoSequenceNumbersExecutesOnce() {
        var cluster = TestCluster()
        let primary = cluster.authenticator(forReplica: 0)
        let batch = [request(cluster, timestamp: 1)]
        for sequence: UInt64 in [1, 2] {
            let pp = PrePrepare(view: 0, sequence: sequence, digest: batchDigest(batch), batch: batch)
            // The primary's own log must agree, so feed it the same pre-prepares via its state.
            cluster.replicas[0].lastAssigned = sequence
            var slot = Slot(replicaCount: 4)
            slot.prePrepare = pp
            cluster.replicas[0].slots[sequence] = slot
            for backup in 1...3 {
                cluster.apply(cluster.replicas[backup].receive(frame: primary.seal(.prePrepare(pp), to: [.replica(backup)])), from: backup)
            }
        }
        cluster.deliverAll()
        for i in 1...3 {
            #expect(cluster.executed[i].map(\.sequence) == [1, 2])
            #expect(chain(cluster.replicas[i]).operationCount == 1)
        }
    }

    @Test func osdi4_2_executionIsStrictlyInSequenceOrder_andTocs5_2_retransmissionFillsTheGap() {
        var cluster = TestCluster()
        cluster.submit("first", client: 1)
        cluster.submit("second", client: 2)
        // Replica 3 loses the pre-prepare of sequence 1.
        let peek = cluster.authenticator(forReplica: 0)
        cluster.deliverAll(drop: { frame, target in
            guard target == .replica(3), case .prePrepare(let pp)? = peek.peek(frame)?.message else { return false }
            return pp.sequence == 1
        })
        #expect(cluster.executed[3].isEmpty)
        #expect(cluster.replicas[3].slots[2]?.committed == true)
        // Its next status tells the others what it misses; they re-send it.
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        #expect(cluster.executed[3].map(\.sequence) == [1, 2])
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[0].stateDigest)
    }

    @Test func tocs5_1_primaryBatchesBoundedByRequestsPerBatchAndBatchesInFlight() {
        var cluster = TestCluster(clientIDs: Array(1...10))
        for id in 1...10 { cluster.submit("op\(id)", client: UInt64(id)) }
        cluster.deliverAll()
        let sizes = cluster.persisted[0].compactMap { record -> Int? in
            if case .prePrepare(let pp) = record { return pp.batch.count }
            return nil
        }
        #expect(sizes.reduce(0, +) == 10)
        #expect(sizes.allSatisfy { $0 <= TestCluster.defaultOptions.requestsPerBatchMax })
        #expect(sizes.max() == TestCluster.defaultOptions.requestsPerBatchMax)
        #expect((1...10).allSatisfy { cluster.completed[UInt64($0)]?.count == 1 })
    }

    @Test func tocs5_1_batchBytesBoundSplitsBatches() {
        var options = TestCluster.defaultOptions
        options.batchBytesMax = 300
        options.batchesInFlightMax = 1
        var cluster = TestCluster(clientIDs: Array(1...6), options: options)
        for id in 1...6 { cluster.submit(String(repeating: "x", count: 100), client: UInt64(id)) }
        cluster.deliverAll()
        let sizes = cluster.persisted[0].compactMap { record -> Int? in
            if case .prePrepare(let pp) = record { return pp.batch.reduce(0) { $0 + $1.encodedByteCount } }
            return nil
        }
        #expect(sizes.allSatisfy { $0 <= 300 })
        #expect((1...6).allSatisfy { cluster.completed[UInt64($0)]?.count == 1 })
    }

    /// A faulty peer must never trip a precondition or an overflow: extreme field values are
    /// ignored or dropped.
    @Test func extremeValuesFromAFaultyPeerAreHarmless() {
        var cluster = TestCluster()
        cluster.submit("x")
        cluster.deliverAll()
        let faulty = cluster.authenticator(forReplica: 3)
        let messages: [Message] = [
            .status(Status(view: 0, inViewChange: false, lastExecuted: .max, stableSequence: .max, replica: 3)),
            .status(Status(view: .max, inViewChange: true, lastExecuted: 0, stableSequence: 0, replica: 3)),
            .prepare(Vote(view: 0, sequence: .max, digest: .zero, replica: 3)),
            .commit(Vote(view: .max, sequence: .max, digest: .zero, replica: 3)),
            .checkpoint(faulty.signed(Checkpoint(sequence: .max, stateDigest: .zero, replica: 3))),
            .fetchSnapshot(FetchSnapshot(sequence: .max, replica: 3)),
            .viewChange(faulty.signed(ViewChange(
                newView: .max, stable: CheckpointCertificate(sequence: 0, stateDigest: .zero, checkpoints: []),
                prepared: [], prePrepared: [], replica: 3))),
            .checkpointCertificate(CheckpointCertificate(sequence: .max, stateDigest: .zero, checkpoints: [])),
        ]
        for message in messages {
            for target in 0...2 {
                cluster.deliver(faulty.seal(message, to: [.replica(target)]), to: .replica(target))
            }
        }
        cluster.deliverAll()
        cluster.submit("y")
        cluster.deliverAll()
        #expect(cluster.completed[1]?.count == 2)
    }

    /// A faulty client flooding requests holds at most one queued request at a replica: each new
    /// timestamp replaces the last, so the flood costs bounded memory.
    @Test func floodingClientHoldsOneQueuedRequestPerReplica() {
        var cluster = TestCluster()
        let auth = cluster.authenticator(forClient: 2)
        for timestamp in UInt64(1)...500 {
            let request = cluster.clients[2]!.makeRequest(operation: [1], timestamp: timestamp)
            _ = cluster.replicas[3].receive(frame: auth.sealRequest(request, to: [.replica(3)]))
        }
        #expect(cluster.replicas[3].pendingRequestCount == 1)
        #expect(cluster.replicas[3].clients.position(of: 2).flatMap { cluster.replicas[3].clients.pending[$0] }?.timestamp == 500)
    }
}
