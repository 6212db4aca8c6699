import Testing
@testable import Consensus

/// OSDI'99 §4.4-§4.5.2 and the TOCS §4.5 decision procedure for NEW-VIEW.
@Suite struct ViewChangeTests {
    let configuration = try! GroupConfiguration(replicaCount: 4)
    let genesis = CheckpointCertificate(sequence: 0, stateDigest: .zero, checkpoints: [])
    let batch = [Request(client: 1, timestamp: 1, operation: [1])]

    func vc(_ replica: Int, stable: CheckpointCertificate? = nil, prepared: [PreparedEntry] = [],
            prePrepared: [PrePreparedEntry] = []) -> ViewChange {
        ViewChange(newView: 1, stable: stable ?? genesis, prepared: prepared, prePrepared: prePrepared, replica: replica)
    }

    @Test func tocs4_5_decisionReproposesThePreparedBatchAndFillsGapsWithNull() throws {
        let d = batchDigest(batch)
        let p = PreparedEntry(sequence: 2, view: 0, digest: d, batch: batch)
        let q = PrePreparedEntry(sequence: 2, digest: d, view: 0)
        let decision = try #require(NewViewDecision.decide(
            [vc(0, prepared: [p], prePrepared: [q]), vc(1, prePrepared: [q]), vc(2)], configuration: configuration))
        #expect(decision.chosen == [NewViewEntry(sequence: 1, digest: nullBatchDigest), NewViewEntry(sequence: 2, digest: d)])
        #expect(decision.batches[d] == batch)
    }

    /// Regression: a NEW-VIEW decided only from the VIEW-CHANGEs that carry the chosen checkpoint
    /// (or only from the first 2f+1) never completes; the whole set must be used.
    @Test func tocs4_5_decisionUsesTheWholeViewChangeSet() throws {
        let d = batchDigest(batch)
        let honest = PreparedEntry(sequence: 5, view: 0, digest: d, batch: batch)
        let q = PrePreparedEntry(sequence: 5, digest: d, view: 0)
        let bogusBatch = [Request(client: 9, timestamp: 9, operation: [9])]
        let bogus = PreparedEntry(sequence: 5, view: 3, digest: batchDigest(bogusBatch), batch: bogusBatch)
        let checkpoint = CheckpointCertificate(sequence: 4, stateDigest: Digest.of([4]), checkpoints: [])
        let set = [
            vc(0, stable: checkpoint, prepared: [honest], prePrepared: [q]),
            vc(1, prePrepared: [q]),
            vc(3, prepared: [bogus]),  // a faulty replica's claim blocks sequence 5 with only 2f+1
        ]
        #expect(NewViewDecision.decide(set, configuration: configuration) == nil)
        let decision = try #require(NewViewDecision.decide(set + [vc(2, prePrepared: [q])], configuration: configuration))
        #expect(decision.checkpoint.sequence == 4)
        #expect(decision.chosen == [NewViewEntry(sequence: 5, digest: d)])
        // Only one message carries checkpoint 4; deciding from that subset alone cannot work.
        #expect(NewViewDecision.decide([set[0]], configuration: configuration) == nil)
    }

    @Test func tocs4_5_claimWithoutFPlus1PrePreparesIsNotChosen() throws {
        let bogusBatch = [Request(client: 9, timestamp: 9, operation: [9])]
        let bogus = PreparedEntry(sequence: 1, view: 0, digest: batchDigest(bogusBatch), batch: bogusBatch)
        let decision = try #require(NewViewDecision.decide([vc(3, prepared: [bogus]), vc(0), vc(1), vc(2)], configuration: configuration))
        #expect(decision.chosen == [NewViewEntry(sequence: 1, digest: nullBatchDigest)])
    }

    @Test func osdi4_4_viewChangeAfterThePrimaryFailsExecutesThePendingRequest() {
        var cluster = TestCluster()
        cluster.down = [0]
        cluster.submit("x")
        cluster.deliverAll()
        #expect(cluster.completed[1] == nil)
        // The client times out and asks everybody; backups relay to the primary and start timers.
        cluster.apply(cluster.clients[1]!.timerFired(), client: 1)
        cluster.deliverAll()
        for i in 1...3 { #expect(cluster.timers[i][.viewChange] != nil) }
        for i in 1...3 { cluster.fire(.viewChange, at: i) }
        cluster.deliverAll()
        for i in 1...3 {
            #expect(cluster.replicas[i].view == 1)
            #expect(!cluster.replicas[i].inViewChange)
        }
        #expect(cluster.completed[1]?.count == 1)
        // The client learned the new view from the replies.
        #expect(cluster.clients[1]!.view == 1)
    }

    @Test func osdi4_4_committedRequestKeepsItsSequenceNumberAcrossAViewChange() {
        var cluster = TestCluster()
        cluster.submit("kept")
        cluster.deliverAll()
        let digest = cluster.executed[1][0].digest
        for i in 0...3 {
            var actions: [ReplicaAction] = []
            cluster.replicas[i].startViewChange(to: 1, &actions)
            cluster.apply(actions, from: i)
        }
        cluster.deliverAll()
        for i in 0...3 {
            #expect(cluster.replicas[i].view == 1 && !cluster.replicas[i].inViewChange)
            #expect(cluster.replicas[i].slots[1]?.prePrepare?.digest == digest)
            #expect(cluster.executed[i].count == 1)
        }
        cluster.submit("after")
        cluster.deliverAll()
        #expect(cluster.completed[1]?.count == 2)
        #expect(cluster.executed[2].map(\.sequence) == [1, 2])
    }

    @Test func osdi4_5_2_replicaJoinsAViewChangeAfterFPlus1ViewChanges() {
        var cluster = TestCluster()
        for i in [1, 2] {
            var actions: [ReplicaAction] = []
            cluster.replicas[i].startViewChange(to: 1, &actions)
            cluster.apply(actions, from: i)
        }
        cluster.deliverAll()
        for i in 0...3 {
            #expect(cluster.replicas[i].view == 1)
            #expect(!cluster.replicas[i].inViewChange)
        }
    }

    @Test func osdi4_5_2_timeoutDoublesWhenTheNewPrimaryDoesNotAnswer() {
        var cluster = TestCluster()
        let base = TestCluster.defaultOptions.viewChangeTimeoutTicks
        cluster.down = [1]  // the primary of view 1
        for i in [0, 2, 3] {
            var actions: [ReplicaAction] = []
            cluster.replicas[i].startViewChange(to: 1, &actions)
            cluster.apply(actions, from: i)
        }
        cluster.deliverAll()
        // 2f+1 VIEW-CHANGEs are in: the timer runs for T.
        #expect(cluster.timers[2][.viewChange] == base)
        for i in [0, 2, 3] { cluster.fire(.viewChange, at: i) }
        cluster.deliverAll()
        #expect(cluster.replicas[2].view == 2)
        #expect(!cluster.replicas[2].inViewChange)  // replica 2 is the primary of view 2
        #expect(cluster.replicas[0].view == 2 && !cluster.replicas[0].inViewChange)
        #expect(cluster.replicas[0].viewChangeTimeoutTicks == 2 * base)
    }

    @Test func osdi4_5_2_viewChangeIsResentUntilAnswered() {
        var cluster = TestCluster()
        var actions: [ReplicaAction] = []
        cluster.replicas[2].startViewChange(to: 1, &actions)
        cluster.inFlight = []
        cluster.fire(.status, at: 2)
        #expect(cluster.inFlightKinds().filter { $0 == "view-change" }.count == 3)
    }

    @Test func osdi4_4_newViewWithAnAlteredOSetIsRejected() {
        var cluster = TestCluster()
        cluster.submit("x")
        cluster.deliverAll()
        var vcs: [ViewChange] = []
        for i in 0...3 {
            var actions: [ReplicaAction] = []
            cluster.replicas[i].startViewChange(to: 1, &actions)
            vcs.append(cluster.replicas[i].myViewChange!)
        }
        cluster.inFlight = []
        let decision = NewViewDecision.decide(vcs, configuration: cluster.configuration)!
        var chosen = decision.chosen
        chosen[0].digest = nullBatchDigest  // drop the committed request
        let primary = cluster.authenticator(forReplica: 1)
        let forged = primary.signed(NewView(view: 1, viewChanges: vcs, checkpointSequence: 0, chosen: chosen, replica: 1))
        _ = cluster.replicas[2].receive(frame: primary.seal(.newView(forged), to: [.replica(2)]))
        #expect(cluster.replicas[2].dropped[.invalidNewView] == 1)
        #expect(cluster.replicas[2].inViewChange)
    }

    /// Regression: a primary that changes the sequence number in one copy of a pre-prepare.
    /// Neither copy gathers 2f matching PREPAREs, so nothing commits in view 0; the view change
    /// then orders the request exactly once.
    @Test func osdi4_4_prePrepareWithAChangedSequenceNumberCommitsNothingAndTheViewChangeRecovers() {
        var cluster = TestCluster()
        let request = cluster.clients[1]!.makeRequest(operation: [1], timestamp: 1)
        let batch = [request]
        let primary = cluster.authenticator(forReplica: 0)
        cluster.down = [0]
        for (backup, sequence) in [(1, UInt64(1)), (2, 2), (3, 2)] {
            let pp = PrePrepare(view: 0, sequence: sequence, digest: batchDigest(batch), batch: batch)
            cluster.apply(cluster.replicas[backup].receive(frame: primary.seal(.prePrepare(pp), to: [.replica(backup)])), from: backup)
            cluster.apply(cluster.replicas[backup].submit(request), from: backup)
        }
        cluster.deliverAll()
        #expect((1...3).allSatisfy { cluster.executed[$0].isEmpty })
        for i in 1...3 { cluster.fire(.viewChange, at: i) }
        cluster.deliverAll()
        for i in 1...3 {
            #expect(cluster.replicas[i].view == 1 && !cluster.replicas[i].inViewChange)
            let chain = cluster.replicas[i].stateMachine as! HashChainStateMachine
            #expect(chain.operationCount == 1)
            #expect(cluster.replicas[i].stateDigest == cluster.replicas[1].stateDigest)
        }
    }

    /// TOCS §5.2: a replica that missed a whole view change learns the NEW-VIEW (which proves
    /// itself) from the answer to its status, and takes part again.
    @Test func replicaThatMissedTheViewChangeAdoptsTheNewViewFromAStatusAnswer() {
        var cluster = TestCluster()
        cluster.down = [3]
        for i in 0...2 {
            var actions: [ReplicaAction] = []
            cluster.replicas[i].startViewChange(to: 1, &actions)
            cluster.apply(actions, from: i)
        }
        cluster.deliverAll()
        #expect(cluster.replicas[3].view == 0)
        cluster.down = []
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        #expect(cluster.replicas[3].view == 1 && !cluster.replicas[3].inViewChange)
        cluster.submit("x")
        cluster.deliverAll()
        #expect(cluster.executed[3].count == 1)
    }
}
