import Testing
@testable import Consensus

/// OSDI'99 §4.3 (checkpoints, water marks, garbage collection) and TOCS §5.3 (state transfer).
@Suite struct CheckpointTests {
    mutating func runRequests(_ cluster: inout TestCluster, count: Int, drop: (([UInt8], Principal) -> Bool)? = nil) {
        for _ in 0..<count {
            cluster.submit("op")
            cluster.deliverAll(drop: drop)
        }
    }

    @Test mutating func osdi4_3_checkpointBecomesStableWith2fPlus1AndTheLogIsCollected() {
        var cluster = TestCluster()
        runRequests(&cluster, count: 5)
        for replica in cluster.replicas {
            #expect(replica.lowWaterMark == 4)
            #expect(replica.stableCertificate.checkpoints.count == 3)
            #expect(replica.slots.keys.allSatisfy { $0 > 4 })
            #expect(replica.stableSnapshot.map(Digest.of) == replica.stableCertificate.stateDigest)
        }
        let auth = cluster.authenticator(forReplica: 3)
        #expect(auth.verify(cluster.replicas[0].stableCertificate, quorum: 3))
        // The stable checkpoint was persisted with its snapshot.
        #expect(cluster.persisted[1].contains { if case .checkpoint(let c, _) = $0 { c.sequence == 4 } else { false } })
    }

    @Test func osdi4_3_prePrepareAboveTheHighWaterMarkIsRejected() {
        var cluster = TestCluster()
        let window = TestCluster.defaultOptions.logWindowSequences
        let batch = [cluster.clients[1]!.makeRequest(operation: [1], timestamp: 1)]
        let pp = PrePrepare(view: 0, sequence: window + 1, digest: batchDigest(batch), batch: batch)
        let frame = cluster.authenticator(forReplica: 0).seal(.prePrepare(pp), to: [.replica(1)])
        #expect(cluster.replicas[1].receive(frame: frame).isEmpty)
        #expect(cluster.replicas[1].dropped[.outsideWaterMarks] == 1)
    }

    @Test func osdi4_3_checkpointWithAForgedSignatureIsIgnored() {
        var cluster = TestCluster()
        var checkpoint = cluster.authenticator(forReplica: 2).signed(Checkpoint(sequence: 4, stateDigest: .zero, replica: 2))
        checkpoint.stateDigest = Digest.of([1])
        let frame = cluster.authenticator(forReplica: 2).seal(.checkpoint(checkpoint), to: [.replica(1)])
        _ = cluster.replicas[1].receive(frame: frame)
        #expect(cluster.replicas[1].dropped[.badSignature] == 1)
    }

    @Test mutating func tocs5_3_replicaBehindTheStableCheckpointFetchesAndVerifiesTheSnapshot() {
        var cluster = TestCluster()
        cluster.down = [3]
        runRequests(&cluster, count: 9)
        #expect(cluster.replicas[0].lowWaterMark == 8)
        #expect(cluster.replicas[3].lastExecuted == 0)
        cluster.down = []
        // Replica 3 reports where it is; the others send the stable checkpoint's proof.
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        // No progress since the last status: fetch the state, check it, install it.
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        #expect(cluster.replicas[3].lastExecuted >= 8)
        #expect(cluster.replicas[3].lowWaterMark == 8)
        // Then the log suffix through retransmission.
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        #expect(cluster.replicas[3].lastExecuted == cluster.replicas[0].lastExecuted)
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[0].stateDigest)
        // The client table came along: the old request is not executed again.
        let old = cluster.clients[1]!.makeRequest(operation: Array("op".utf8), timestamp: 1)
        let frame = cluster.authenticator(forClient: 1).seal(.request(old), to: [.replica(3)])
        _ = cluster.replicas[3].receive(frame: frame)
        #expect(cluster.replicas[3].pendingRequestCount == 0)
    }

    @Test func tocs5_3_snapshotThatDoesNotMatchTheCertifiedDigestIsRejected() {
        var cluster = TestCluster()
        for _ in 0..<4 {
            cluster.submit("op")
            cluster.deliverAll()
        }
        let certificate = cluster.replicas[0].stableCertificate
        let fresh = cluster.makeReplica(3)
        cluster.replicas[3] = fresh
        let lie = SnapshotTransfer(certificate: certificate, state: [1, 2, 3], replica: 1)
        _ = cluster.replicas[3].receive(frame: cluster.authenticator(forReplica: 1).seal(.snapshot(lie), to: [.replica(3)]))
        #expect(cluster.replicas[3].dropped[.badSnapshot] == 1)
        #expect(cluster.replicas[3].lastExecuted == 0)
    }
}
