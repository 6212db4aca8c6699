import Testing
@testable import Consensus

/// Crash recovery through the injected log: a restarted replica never contradicts what it sent
/// and committed batches survive.
@Suite struct PersistenceTests {
    @Test func restartedReplicaRestoresItsLogStateAndView() {
        var cluster = TestCluster()
        for _ in 0..<6 {
            cluster.submit("op")
            cluster.deliverAll()
        }
        var restarted = cluster.makeReplica(2)
        _ = restarted.restore(from: cluster.persisted[2])
        #expect(restarted.lastExecuted == cluster.replicas[2].lastExecuted)
        #expect(restarted.stateDigest == cluster.replicas[2].stateDigest)
        #expect(restarted.lowWaterMark == 4)
        #expect(restarted.view == 0)
    }

    @Test func restartedBackupRejectsAPrePrepareConflictingWithOneItAccepted() {
        var cluster = TestCluster()
        cluster.submit("op")
        cluster.deliverAll()
        var restarted = cluster.makeReplica(2)
        _ = restarted.restore(from: cluster.persisted[2])
        let other = [cluster.clients[2]!.makeRequest(operation: [9], timestamp: 1)]
        let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(other), batch: other)
        _ = restarted.receive(frame: cluster.authenticator(forReplica: 0).seal(.prePrepare(pp), to: [.replica(2)]))
        #expect(restarted.dropped[.conflictingPrePrepare] == 1)
        // And its P set still says what it prepared.
        #expect(restarted.preparedSet.map(\.digest) == [cluster.executed[0][0].digest])
    }

    @Test func restartedReplicaResendsTheSameViewChange() throws {
        var cluster = TestCluster()
        cluster.submit("op")
        cluster.deliverAll()
        var actions: [ReplicaAction] = []
        cluster.replicas[3].startViewChange(to: 1, &actions)
        cluster.apply(actions, from: 3)
        let sent = try #require(cluster.replicas[3].myViewChange)
        var restarted = cluster.makeReplica(3)
        let restored = restarted.restore(from: cluster.persisted[3])
        #expect(restarted.view == 1 && restarted.inViewChange)
        let auth = cluster.authenticator(forReplica: 0)
        let resent = restored.compactMap { action -> ViewChange? in
            guard case .send(let frame, _) = action, case .viewChange(let vc)? = auth.peek(frame)?.message else { return nil }
            return vc
        }
        #expect(!resent.isEmpty && resent.allSatisfy { $0 == sent })
    }

    /// Regression (PBFT review, finding 1; TOCS §5.3 with §4.2): a lagging backup that adopted a
    /// certified checkpoint moved its window without persisting it. After a restart, replay used
    /// the old window and dropped the pre-prepare it had accepted above it, so a faulty primary
    /// could get a conflicting batch prepared at the same (view, sequence).
    @Test func restartedLaggingBackupKeepsThePrePrepareItAcceptedAboveItsOldWindow() throws {
        var cluster = TestCluster()
        cluster.down.insert(3)
        for _ in 0..<12 {
            cluster.submit("op")
            cluster.deliverAll()
        }
        let certificate = cluster.replicas[0].stableCertificate
        try #require(certificate.sequence > cluster.options.logWindowSequences, "the others are a whole window ahead")
        cluster.down.remove(3)
        let primary = cluster.authenticator(forReplica: 0)
        cluster.deliver(primary.seal(.checkpointCertificate(certificate), to: [.replica(3)]), to: .replica(3))
        cluster.fire(.status, at: 3)
        cluster.fire(.status, at: 3)
        #expect(cluster.replicas[3].lowWaterMark == certificate.sequence, "the backup adopted the certificate")
        cluster.inFlight.removeAll()   // the snapshot never arrives: the backup stays mid-transfer

        // Above the old window (0, L], inside the new one.
        let sequence = certificate.sequence + 2
        let accepted = [cluster.clients[2]!.makeRequest(operation: [1], timestamp: 1)]
        let first = PrePrepare(view: 0, sequence: sequence, digest: batchDigest(accepted), batch: accepted)
        cluster.deliver(primary.seal(.prePrepare(first), to: [.replica(3)]), to: .replica(3))
        #expect(cluster.replicas[3].slots[sequence]?.prePrepare == first)

        var restarted = cluster.makeReplica(3)
        _ = restarted.restore(from: cluster.persisted[3])
        #expect(restarted.lowWaterMark == certificate.sequence, "the window move was replayed")
        #expect(restarted.slots[sequence]?.prePrepare == first, "the accepted pre-prepare was replayed")
        let other = [cluster.clients[3]!.makeRequest(operation: [2], timestamp: 1)]
        let conflicting = PrePrepare(view: 0, sequence: sequence, digest: batchDigest(other), batch: other)
        _ = restarted.receive(frame: primary.seal(.prePrepare(conflicting), to: [.replica(3)]))
        #expect(restarted.dropped[.conflictingPrePrepare] == 1)
        #expect(restarted.slots[sequence]?.prePrepare == first)
    }

    @Test func restoreStopsAtATornRecord() {
        var cluster = TestCluster()
        for _ in 0..<3 {
            cluster.submit("op")
            cluster.deliverAll()
        }
        let codec = PersistedRecordCodec(codec: MessageCodec(replicaCount: 4))
        var log = DurableLog()
        for record in cluster.persisted[1] { log.append(codec.encode(record)) }
        log.sync()
        var torn = log
        torn.append(Array(codec.encode(cluster.persisted[1][0]).prefix(5)))
        torn.sync()
        let records = torn.recover(with: codec)
        #expect(records == cluster.persisted[1])
        var restarted = cluster.makeReplica(1)
        _ = restarted.restore(from: records)
        #expect(restarted.stateDigest == cluster.replicas[1].stateDigest)
    }
}
