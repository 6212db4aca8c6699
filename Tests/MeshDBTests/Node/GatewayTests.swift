import Consensus
import Foundation
import Synchronization
import Testing
@testable import MeshDB
import TestSupport

/// The gateway over four nodes in one process (the demo's setup): DDL through the metadata group,
/// writes routed to shards, reads in each consistency.
@Suite(.heavy, .serialized) struct GatewayTests {
    /// The demo's cluster with a short checkpoint interval, so the tests cross checkpoints.
    static func startDemo(nodes count: Int = 4) async throws -> LocalCluster {
        var options = LocalCluster.Options(nodes: count)
        options.runtime.replica.checkpointIntervalSequences = 8
        options.runtime.replica.logWindowSequences = 32
        options.readySeconds = testClusterReadySeconds
        return try await LocalCluster.start(options)
    }

    static let accounts = CatalogTableSpec(
        name: "accounts",
        columns: [.init(name: "id", type: .integer, notNull: true), .init(name: "owner", type: .text), .init(name: "balance", type: .real)],
        primaryKey: ["id"], shardKey: ["id"], shardCount: 4)

    static func row(_ id: Int) -> [SQLiteValue] { [.integer(Int64(id)), .text("owner \(id)"), .real(Double(id) / 4)] }

    @Test func writesThroughOneNodeAreReadAlikeInEveryConsistencyOnEveryNode() async throws {
        let demo = try await Self.startDemo()
        let gateway = demo.nodes[1].gateway
        try await gateway.createTable(Self.accounts)
        #expect(try await gateway.insert(into: "accounts", rows: (0..<300).map(Self.row)) == 300)
        let expected = Set((0..<300).map(Self.row))
        for node in demo.nodes {
            for consistency in [Gateway.ReadConsistency.verified, .linearizable] {
                let rows = try await node.gateway.scan("accounts", consistency: consistency)
                #expect(Set(rows.rows) == expected, "node \(node.index), \(consistency)")
            }
        }
        // Local reads on every replica, once each has executed everything.
        for node in demo.nodes {
            try await Self.eventually { try await node.gateway.scan("accounts", consistency: .local).rows.count == 300 }
            #expect(Set(try await node.gateway.scan("accounts", consistency: .local).rows) == expected)
        }
        #expect(try await demo.nodes[2].gateway.get(from: "accounts", key: [.integer(42)]) == Self.row(42))
        #expect(try await demo.nodes[2].gateway.get(from: "accounts", key: [.integer(4242)]) == nil)
        // The shards really split the rows: each holds some, none holds all.
        let shards = try demo.nodes[0].runtime.withStateMachine(group: 1) { machine in (machine as! ShardStateMachine).shardIDs.count }
        #expect(shards == 4)
        await demo.stop()
    }

    @Test func errorsCarrySQLStates() async throws {
        let demo = try await Self.startDemo()
        let gateway = demo.nodes[0].gateway
        try await gateway.createTable(Self.accounts)
        await #expect { try await gateway.createTable(Self.accounts) } throws: { ($0 as? GatewayError)?.sqlState == "42P07" }
        await #expect { try await gateway.scan("missing") } throws: { ($0 as? GatewayError)?.sqlState == "42P01" }
        try await gateway.insert(into: "accounts", rows: [Self.row(1)])
        await #expect { try await gateway.insert(into: "accounts", rows: [Self.row(1)]) } throws: { ($0 as? GatewayError)?.sqlState == "23505" }
        #expect(try gateway.systemTable("mesh_tables").rows.count == 1)
        #expect(try gateway.systemTable("mesh_nodes").rows.count == 4)
        await demo.stop()
    }

    /// f = 1: one replica answering reads with made-up rows cannot change a verified read, and one
    /// replica down does not stop it.
    @Test func verifiedReadOutvotesALyingReplicaAndSurvivesADownOne() async throws {
        let demo = try await Self.startDemo()
        let gateway = demo.nodes[0].gateway
        try await gateway.createTable(Self.accounts)
        try await gateway.insert(into: "accounts", rows: (0..<20).map(Self.row))
        // The liar is the gateway's own node, whose answer arrives first: a gateway that took the
        // first answer would return the lie.
        demo.nodes[0].runtime.setReadHandler { _, _, _ in
            ShardResult.ok([ShardStore.StatementResult(rowsChanged: 0, columns: ["id", "owner", "balance"],
                                                       rows: [[.integer(666), .text("mallory"), .real(1e9)]])]).encoded()
        }
        for _ in 0..<5 {
            #expect(try await gateway.get(from: "accounts", key: [.integer(7)], consistency: .verified) == Self.row(7))
        }
        // `local` reads the node's own replica directly (trusting the node), not its read handler.
        #expect(try await gateway.get(from: "accounts", key: [.integer(7)], consistency: .local) == Self.row(7))
        demo.hub.disconnect(demo.nodes[2].transport.identity.publicKey)
        #expect(try await gateway.scan("accounts", consistency: .verified).rows.count == 20)
        await demo.stop()
    }

    /// A verified read asks f + 1 = 2 replicas first — the gateway's own and one other — and the
    /// other two only when those disagree or one is slow: a healthy cluster executes each read
    /// twice, not four times.
    @Test func verifiedReadsAskTwoReplicasWhenTheyAgree() async throws {
        let demo = try await Self.startDemo()
        let gateway = demo.nodes[0].gateway
        try await gateway.createTable(Self.accounts)
        try await gateway.insert(into: "accounts", rows: (0..<20).map(Self.row))
        let answered = AnswerCounts()
        for (position, node) in demo.nodes.enumerated() {
            node.runtime.setReadHandler { _, query, machine in
                answered.counts.withLock { $0[position] += 1 }
                guard let shards = machine as? ShardStateMachine, let operation = try? ShardOperation(decoding: query),
                      case .read(let id, let sql, let parameters) = operation else { return [] }
                return shards.localQuery(id, sql, parameters).encoded()
            }
        }
        let reads = 20
        for key in 0..<reads {
            #expect(try await gateway.get(from: "accounts", key: [.integer(Int64(key))], consistency: .verified) == Self.row(key))
        }
        let counts = answered.counts.withLock { $0 }
        #expect(counts[0] == reads, "the gateway's own replica answers every read: \(counts)")
        // Asking every replica would make 4 × 20; a read whose second answer came later than the
        // hedge delay asks the other two as well, which a loaded test machine may see now and then.
        #expect(counts.reduce(0, +) < 3 * reads, "\(counts)")
        #expect(counts[1...].allSatisfy { $0 > 0 }, "the second replica rotates: \(counts)")
        await demo.stop()
    }

    /// Regression (PBFT review, finding 5): a restarted node's gateway clients started again at
    /// timestamp 0, so the replicas took its new writes for old requests — dropped as stale, or
    /// answered from the reply cache with an old result — and the writes silently never happened.
    @Test func writesThroughANodeRestartedInProcessAreExecuted() async throws {
        let demo = try await Self.startDemo()
        try await demo.nodes[1].gateway.createTable(Self.accounts)
        for k in 0..<8 { try await demo.nodes[1].gateway.insert(into: "accounts", rows: [Self.row(k)]) }
        let restarted = try await demo.restartNode(1)
        for k in 100..<108 {
            #expect(try await restarted.gateway.insert(into: "accounts", rows: [Self.row(k)]) == 1)
        }
        let rows = try await demo.nodes[0].gateway.scan("accounts", consistency: .linearizable).rows
        #expect(Set(rows) == Set(((0..<8).map(Self.row)) + (100..<108).map(Self.row)))
        await demo.stop()
    }

    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }
}

/// How many verified reads each node's replica answered.
private final class AnswerCounts: Sendable {
    let counts = Mutex<[Int]>([0, 0, 0, 0])
}
