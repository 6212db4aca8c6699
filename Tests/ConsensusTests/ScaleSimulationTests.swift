import Foundation
import Testing
@testable import Consensus

/// The scale model (`meshdb sim scale`): real replicas on simulated nodes that are single
/// servers with measured costs. These check properties of the model in simulated time, never
/// wall-clock timings; runs are a few tens of simulated milliseconds so a debug build stays fast.
@Suite struct ScaleSimulationTests {
    /// Group 0 (metadata) on nodes 0-3; then the given shard groups.
    static func config(nodes: Int, shardGroups: [[Int]], batch: Int = 4, clientsPerGroup: Int = 8,
                       seed: UInt64 = 1, costs: NodeCostModel = .measured) -> ScaleConfig {
        var config = ScaleConfig(seed: seed, nodes: nodes, groups: [[0, 1, 2, 3]] + shardGroups, batch: batch,
                                 sessions: clientsPerGroup * shardGroups.count, clientsPerGroup: clientsPerGroup,
                                 costs: costs)
        config.warmupNanos = 10_000_000
        config.measureNanos = 40_000_000
        return config
    }

    @Test func sameSeedGivesTheSameNumbers() throws {
        let setup = Self.config(nodes: 4, shardGroups: [[0, 1, 2, 3]])
        let first = try ScaleSimulation(setup).run()
        let second = try ScaleSimulation(setup).run()
        #expect(first == second)
        #expect(first.orderedWrites > 0)
        var other = setup
        other.seed = 2
        #expect(try ScaleSimulation(other).run().traceDigest != first.traceDigest)
    }

    /// Agreement, validity and checkpoint agreement hold for every group while costs delay and
    /// reorder its messages, and no replica suspected its primary.
    @Test func safetyCheckersPassUnderTheCostModel() throws {
        var setup = Self.config(nodes: 8, shardGroups: [[0, 1, 2, 3], [4, 5, 6, 7], [2, 3, 4, 5]], batch: 2)
        setup.replicaOptions.checkpointIntervalSequences = 8
        setup.replicaOptions.logWindowSequences = 32
        let result = try ScaleSimulation(setup).run()
        #expect(result.violations.isEmpty, "\(result.violations)")
        #expect(result.highestView == 0)
        #expect(result.orderedWrites > 100)
    }

    /// Two shard groups on two disjoint sets of nodes order nearly twice what one group does;
    /// the same two groups stacked on four nodes share those nodes' queues and order less.
    @Test func moreGroupsOnMoreNodesOrderMoreWrites() throws {
        // 32 clients a group: enough to keep 4 batches of 4 in flight and the next ones filling.
        let one = try ScaleSimulation(Self.config(nodes: 8, shardGroups: [[0, 1, 2, 3]], clientsPerGroup: 32)).run()
        let spread = try ScaleSimulation(Self.config(nodes: 8, shardGroups: [[0, 1, 2, 3], [4, 5, 6, 7]], clientsPerGroup: 32)).run()
        let stacked = try ScaleSimulation(Self.config(nodes: 8, shardGroups: [[0, 1, 2, 3], [0, 1, 2, 3]], clientsPerGroup: 32)).run()
        #expect(spread.writesPerSecond > 1.6 * one.writesPerSecond, "one group \(one.writesPerSecond), two spread \(spread.writesPerSecond)")
        #expect(stacked.writesPerSecond < 0.85 * spread.writesPerSecond, "two spread \(spread.writesPerSecond), two stacked \(stacked.writesPerSecond)")
        // The four shared nodes carry both groups' work (and one fsync per group log): busier.
        #expect(stacked.nodeBusy.max()! > 0.8 && stacked.nodeBusy.max()! > spread.nodeBusy.max()! + 0.1,
                "stacked \(stacked.nodeBusy), spread \(spread.nodeBusy)")
        #expect(stacked.nodeBusy[4...].allSatisfy { $0 == 0 } && spread.nodeBusy[4...].allSatisfy { $0 > 0 })
    }

    /// A node is one server: however overloaded, it is busy at most the whole window, and the
    /// fsync part is part of it.
    @Test func nodeUtilizationNeverExceedsTheWindow() throws {
        let overloaded = Self.config(nodes: 4, shardGroups: Array(repeating: [0, 1, 2, 3], count: 4), clientsPerGroup: 16)
        let result = try ScaleSimulation(overloaded).run()
        #expect(result.nodeBusy.allSatisfy { $0 <= 1 }, "\(result.nodeBusy)")
        #expect(zip(result.nodeFsync, result.nodeBusy).allSatisfy { $0 <= $1 })
        #expect(result.nodeBusy.max()! > 0.95, "four groups on four nodes saturate them: \(result.nodeBusy)")
        #expect(result.nodeGroups == [5, 5, 5, 5] && result.nodePrimaries == [5, 0, 0, 0])
    }

    @Test func frameShapeReadsKindAndBatchSize() throws {
        let identities = (0..<4).map { NodeIdentity.deterministic(seed: 1, principal: .replica($0)) }
        let directory = KeyDirectory(replicas: identities.map(\.publicIdentity), clients: [:])
        let auth = Authenticator(me: .replica(0), identity: identities[0], directory: directory,
                                 codec: MessageCodec(replicaCount: 4))
        let batch = (1...5).map { Request(client: 7, timestamp: $0, operation: [1, 2, 3]) }
        let pp = PrePrepare(view: 0, sequence: 3, digest: batchDigest(batch), batch: batch)
        let frame = auth.seal(.prePrepare(pp), to: [.replica(1), .replica(2)])
        #expect(FrameShape(frame: frame) == FrameShape(kind: .prePrepare, requests: 5, signatures: 0))
        let vote = auth.seal(.commit(Vote(view: 0, sequence: 3, digest: .zero, replica: 0)), to: [.replica(1)])
        #expect(FrameShape(frame: vote) == FrameShape(kind: .commit, requests: 0, signatures: 0))
        #expect(FrameShape(frame: [0, 0, 0]) == nil)
        let costs = NodeCostModel.measured
        #expect(costs.receiveNanos(FrameShape(frame: frame)!) == costs.frameOpenNanos + 5 * costs.requestVerifyNanos)
    }

    @Test func reportPrintsOneRowAndParsableJSON() throws {
        let setup = Self.config(nodes: 4, shardGroups: [[0, 1, 2, 3]])
        let result = try ScaleSimulation(setup).run()
        let row = ScaleReport.row(result)
        #expect(row.hasPrefix("    4 |      1 |     4 |       8 |"))
        let json = ScaleReport.json([result], config: setup)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let runs = object?["runs"] as? [[String: Any]]
        #expect(runs?.count == 1)
        #expect((runs?.first?["ordered_writes"] as? Int) == result.orderedWrites)
        #expect((object?["cost_model"] as? [String: Any])?["log_sync_ns"] as? Int == Int(setup.costs.logSyncNanos))
    }
}
