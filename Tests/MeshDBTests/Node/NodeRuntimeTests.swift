import Consensus
import Foundation
import NIOPosix
import Testing
@testable import MeshDB
import TestSupport

/// The node runtime drives real PBFT replicas with fsynced logs over real TCP on 127.0.0.1.
@Suite(.heavy, .serialized) struct NodeRuntimeTests {
    struct Cluster {
        let keys: [NodeKey]
        let layout: ClusterLayout
        let dir: TemporaryDirectory
        var runtimes: [NodeRuntime?]
        var transports: [TCPTransport?]

        func runtime(_ index: Int) -> NodeRuntime { runtimes[index]! }

        /// Stops every running node (each stops on its own queue, synchronously), then removes
        /// the cluster's directory. Regression: a test that threw with nodes running removed the
        /// directory under them, and their next log write crashed the test process.
        func stopRuntimesAndRemove() {
            for runtime in runtimes { runtime?.stop() }
            dir.remove()
        }
    }

    static func makeCluster(nodes: Int) throws -> Cluster {
        let keys = (0..<nodes).map { _ in NodeKey.generate() }
        let ports = try (0..<nodes).map { _ in try TCPTransportTests.freePort() }
        let members = (0..<nodes).map { ClusterLayout.Member(index: $0, key: keys[$0].publicKey, agreementKey: keys[$0].agreementPublicKey,
                                                            host: "127.0.0.1", port: ports[$0], pgPort: 0) }
        let size = ClusterLayout.largestGroupSize(atMost: nodes)
        let layout = ClusterLayout(clusterID: Array(repeating: 3, count: 32), members: members,
                                   groups: [.init(id: 0, members: Array(0..<size))])
        return Cluster(keys: keys, layout: layout, dir: try TemporaryDirectory(), runtimes: Array(repeating: nil, count: nodes),
                       transports: Array(repeating: nil, count: nodes))
    }

    static func startNode(_ index: Int, in cluster: inout Cluster, requestTimeout: Duration = .seconds(60)) async throws {
        var options = NodeRuntime.Options()
        options.requestTimeout = requestTimeout
        options.replica.checkpointIntervalSequences = 8
        options.replica.logWindowSequences = 32
        let runtime = NodeRuntime(index: index, key: cluster.keys[index], layout: cluster.layout,
                                  dataDirectory: cluster.dir.file("node-\(index)"), options: options) { _ in HashChainStateMachine() }
        let policy = HandshakePolicy(clusterID: cluster.layout.clusterID, nodeKeys: Set(cluster.keys.map(\.publicKey)), acceptsClients: true)
        let peers = cluster.layout.members.map { TCPTransport.Peer(key: $0.key, host: $0.host, port: $0.port) }
        let transport = TCPTransport(identity: cluster.keys[index], policy: policy, peers: peers, group: MultiThreadedEventLoopGroup.singleton,
                                     handlers: .init(nodeFrame: { key, payload in runtime.deliver(from: key, payload: payload) }))
        try runtime.start(transport: transport)
        try await transport.start(host: "127.0.0.1", port: cluster.layout.members[index].port)
        cluster.runtimes[index] = runtime
        cluster.transports[index] = transport
    }

    static func stopNode(_ index: Int, in cluster: inout Cluster) async {
        cluster.runtimes[index]?.stop()
        await cluster.transports[index]?.shutdown()
        cluster.runtimes[index] = nil
        cluster.transports[index] = nil
    }

    static func submitMany(_ count: Int, from runtime: NodeRuntime, tag: String) async throws -> [[UInt8]] {
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for k in 0..<count {
                group.addTask { try await runtime.submit(group: 0, operation: Array("\(tag)-\(k)".utf8)) }
            }
            var results: [[UInt8]] = []
            for try await result in group { results.append(result) }
            return results
        }
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test func fourNodesOrderRequestsAndAgreeOnState() async throws {
        var cluster = try Self.makeCluster(nodes: 4)
        // Whatever path the test leaves by, no node still writes into the directory removed.
        defer { cluster.stopRuntimesAndRemove() }
        for index in 0..<4 { try await Self.startNode(index, in: &cluster) }
        let results = try await Self.submitMany(100, from: cluster.runtime(1), tag: "a")
        #expect(results.count == 100)
        // Every result carries the operation count after it: 1...100, each once.
        // (HashChainStateMachine writes the count little-endian.)
        let counts = Set(results.map { $0.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } })
        #expect(counts == Set(1...100))
        let snapshot = cluster
        try await Self.waitUntil(10) { Set(snapshot.runtimes.map { $0!.status()[0].lastExecuted }).count == 1 }
        let statuses = cluster.runtimes.map { $0!.status()[0] }
        #expect(Set(statuses.map(\.lastExecuted)).count == 1, "\(statuses)")
        let digests = try cluster.runtimes.map { runtime in try runtime!.withStateMachine(group: 0) { $0.stateDigest } }
        #expect(Set(digests).count == 1)
        for index in 0..<4 { await Self.stopNode(index, in: &cluster) }
    }

    @Test func aStoppedBackupRestartsFromItsLogAndCatchesUp() async throws {
        var cluster = try Self.makeCluster(nodes: 4)
        // Whatever path the test leaves by, no node still writes into the directory removed.
        defer { cluster.stopRuntimesAndRemove() }
        for index in 0..<4 { try await Self.startNode(index, in: &cluster) }
        _ = try await Self.submitMany(20, from: cluster.runtime(0), tag: "before")
        await Self.stopNode(3, in: &cluster)
        // f = 1: three replicas still make progress, across several checkpoints.
        _ = try await Self.submitMany(60, from: cluster.runtime(0), tag: "during")
        try await Self.startNode(3, in: &cluster)
        _ = try await Self.submitMany(10, from: cluster.runtime(0), tag: "after")
        let snapshot = cluster
        try await Self.waitUntil(20) {
            snapshot.runtimes.map { $0!.status()[0].lastExecuted } == Array(repeating: snapshot.runtime(0).status()[0].lastExecuted, count: 4)
        }
        let executed = cluster.runtimes.map { $0!.status()[0].lastExecuted }
        #expect(Set(executed).count == 1, "restarted backup caught up: \(cluster.runtimes.map { $0!.status()[0] })")
        let digests = try cluster.runtimes.map { runtime in try runtime!.withStateMachine(group: 0) { $0.stateDigest } }
        #expect(Set(digests).count == 1)
        for index in 0..<4 { await Self.stopNode(index, in: &cluster) }
    }

    /// Without a quorum a gateway request fails after `request_timeout` instead of waiting forever,
    /// and the gateway serves new requests once the quorum is back.
    @Test func requestsWithoutAQuorumTimeOutAndTheGatewayRecovers() async throws {
        var cluster = try Self.makeCluster(nodes: 4)
        // Whatever path the test leaves by, no node still writes into the directory removed.
        defer { cluster.stopRuntimesAndRemove() }
        for index in 0..<4 { try await Self.startNode(index, in: &cluster, requestTimeout: .seconds(1)) }
        // With the quorum up, requests succeed; on a machine busy with the rest of the suite one
        // may take longer than the 1 s timeout, so retry as a client would, within 60 s.
        let upDeadline = ContinuousClock.now + .seconds(60)
        for attempt in 0... {
            do {
                _ = try await Self.submitMany(4, from: cluster.runtime(0), tag: "ok-\(attempt)")
                break
            } catch NodeError.timedOut where ContinuousClock.now < upDeadline {
                continue
            }
        }
        await Self.stopNode(2, in: &cluster)
        await Self.stopNode(3, in: &cluster)
        let gateway = cluster.runtime(0)
        await #expect {
            _ = try await gateway.submit(group: 0, operation: Array("stalled".utf8))
        } throws: { error in
            guard case NodeError.timedOut(let message) = error else { return false }
            return message.contains("request_timeout")
        }
        try await Self.startNode(3, in: &cluster, requestTimeout: .seconds(30))
        // Node 0's requests still time out after 1 s; until node 3 has caught up with the others
        // a request may take longer, so the gateway retries as a client would, within 60 s.
        var results: [[UInt8]] = []
        let deadline = ContinuousClock.now + .seconds(60)
        for attempt in 0... {
            do {
                results = try await Self.submitMany(3, from: gateway, tag: "after-\(attempt)")
                break
            } catch NodeError.timedOut where ContinuousClock.now < deadline {
                continue
            }
        }
        #expect(results.count == 3)
        for index in [0, 1, 3] { await Self.stopNode(index, in: &cluster) }
    }
}
