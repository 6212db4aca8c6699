import Testing
@testable import Consensus

/// A backup that alone suspects the primary waits in a view change that nobody joins; it still
/// executes what the others commit, from commit certificates of the older view
/// (Replica+LateCommits.swift). Regression: in CI, `ProcessClusterTests.sevenNodesCommit…`
/// saw node 1 never learn the catalog — its first request had timed out while the cluster was
/// still starting, and its replica of the metadata group stood still in view 1 for good.
@Suite struct LateCommitTests {
    /// Replica 3 alone moves to view 1; nobody joins it (f+1 = 2 VIEW-CHANGEs would be needed).
    static func clusterWithALoneViewChanger() -> TestCluster {
        var cluster = TestCluster()
        var actions: [ReplicaAction] = []
        cluster.replicas[3].startViewChange(to: 1, &actions)
        cluster.apply(actions, from: 3)
        cluster.deliverAll()
        #expect(cluster.replicas[3].inViewChange && cluster.replicas[3].view == 1)
        #expect((0...2).allSatisfy { cluster.replicas[$0].view == 0 && !cluster.replicas[$0].inViewChange })
        return cluster
    }

    @Test func loneViewChangerExecutesWhatTheOthersCommitFromLiveTraffic() {
        var cluster = Self.clusterWithALoneViewChanger()
        for (client, op) in [(UInt64(1), "a"), (2, "b"), (3, "c")] {
            cluster.submit(op, client: client)
            cluster.deliverAll()
        }
        #expect(cluster.completed.values.map(\.count).reduce(0, +) == 3)
        #expect(cluster.executed[3].map(\.sequence) == cluster.executed[0].map(\.sequence))
        #expect(cluster.executed[3].count == 3)
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[0].stateDigest)
        // It executed without voting: still in its view change, nothing prepared in view 0.
        #expect(cluster.replicas[3].inViewChange && cluster.replicas[3].view == 1)
        #expect(cluster.replicas[3].preparedSet.isEmpty)
    }

    @Test func loneViewChangerCatchesUpFromStatusAnswersAndNeedsTwoFPlusOneCommits() {
        var cluster = Self.clusterWithALoneViewChanger()
        cluster.down = [3]
        for (client, op) in [(UInt64(1), "a"), (2, "b")] {
            cluster.submit(op, client: client)
            cluster.deliverAll()
        }
        cluster.down = []
        #expect(cluster.executed[3].isEmpty && cluster.executed[0].count == 2)

        // Only the primary answers: a pre-prepare and one COMMIT are no certificate.
        let auth = cluster.authenticator(forReplica: 0)
        cluster.fire(.status, at: 3)
        cluster.deliverAll(drop: { frame, target in
            target == .replica(3) && auth.peek(frame)?.sender != .replica(0)
        })
        #expect(cluster.executed[3].isEmpty)

        // Everybody answers: 2f+1 COMMITs of view 0 match the batch.
        cluster.fire(.status, at: 3)
        cluster.deliverAll()
        #expect(cluster.executed[3].map(\.sequence) == [1, 2])
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[0].stateDigest)
    }

    @Test func lateExecutionSurvivesARestart() {
        var cluster = Self.clusterWithALoneViewChanger()
        cluster.submit("a")
        cluster.deliverAll()
        #expect(cluster.replicas[3].lastExecuted == 1)
        var restarted = cluster.makeReplica(3)
        _ = restarted.restore(from: cluster.persisted[3])
        #expect(restarted.lastExecuted == 1 && restarted.inViewChange && restarted.view == 1)
        #expect(restarted.stateDigest == cluster.replicas[0].stateDigest)
    }

    @Test func farBehindLoneViewChangerTransfersStateThenExecutesTheRest() {
        var cluster = Self.clusterWithALoneViewChanger()
        cluster.down = [3]
        // K = 4, L = 8 (TestCluster.defaultOptions): ten batches leave a stable checkpoint at 8.
        for op in 0..<10 {
            cluster.submit("op\(op)", client: UInt64(op % 3 + 1))
            cluster.deliverAll()
        }
        cluster.down = []
        #expect(cluster.replicas[0].lastExecuted == 10 && cluster.replicas[0].stableCertificate.sequence == 8)
        for _ in 0..<3 {
            cluster.fire(.status, at: 3)
            cluster.deliverAll()
        }
        #expect(cluster.replicas[3].lastExecuted == 10)
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[0].stateDigest)
        #expect(cluster.replicas[3].inViewChange)
    }

    @Test func aLaterRealViewChangeIncludesTheLoneViewChangerAndNothingDiverges() {
        var cluster = Self.clusterWithALoneViewChanger()
        cluster.submit("before")
        cluster.deliverAll()
        // The primary of view 0 fails; the other two backups suspect it as well.
        cluster.down = [0]
        cluster.submit("after", client: 2)
        cluster.deliverAll()
        cluster.apply(cluster.clients[2]!.timerFired(), client: 2)
        cluster.deliverAll()
        for i in [1, 2] { cluster.fire(.viewChange, at: i) }
        cluster.deliverAll()
        for i in 1...3 {
            #expect(cluster.replicas[i].view == 1 && !cluster.replicas[i].inViewChange, "replica \(i)")
        }
        #expect(cluster.completed[2]?.count == 1)
        #expect(cluster.executed[3].map(\.sequence) == cluster.executed[1].map(\.sequence))
        #expect(cluster.replicas[3].stateDigest == cluster.replicas[1].stateDigest)
        #expect(cluster.replicas[3].lateSlots.isEmpty)
    }
}
