import Foundation
import Testing
@testable import MeshDB
import TestSupport
import NIOPosix

/// One call starts a cluster in this process, one stops it; what it writes stays or goes as its
/// directory says.
@Suite(.heavy, .serialized) struct LocalClusterTests {
    @Test func aClusterInATemporaryDirectoryLeavesNothingBehind() async throws {
        var options = LocalCluster.Options()
        options.readySeconds = testClusterReadySeconds
        let cluster = try await LocalCluster.start(options)
        #expect(cluster.initializedDirectory)
        #expect(cluster.nodes.count == 4 && cluster.nodes.allSatisfy(\.isReady))
        #expect(cluster.nodes.map(\.index) == [0, 1, 2, 3])
        // Node and PostgreSQL ports come from one free range, node ports first.
        let configs = try (0..<4).map { try NodeConfig.load(path: cluster.configPath(node: $0)) }
        let base = configs[0].node.port
        #expect(configs.map(\.node.port) == Array(base..<base + 4))
        #expect(configs.map(\.node.pgPort) == Array(base + 4..<base + 8))
        await cluster.stop()
        #expect(cluster.nodes.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
    }

    /// The demo's way: a directory of the caller's is initialized once, started again as it is
    /// later, and kept.
    @Test func aGivenDirectoryIsReusedAndKept() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var options = LocalCluster.Options(nodes: 4)
        options.directory = dir.path
        options.readySeconds = testClusterReadySeconds
        let first = try await LocalCluster.start(options)
        #expect(first.initializedDirectory)
        try await first.gateway.createTable(GatewayTests.accounts)
        await first.stop()
        #expect(FileManager.default.fileExists(atPath: dir.file("node-0.toml")))
        let second = try await LocalCluster.start(options)
        #expect(!second.initializedDirectory)
        #expect(try second.gateway.catalogSnapshot().table(named: "accounts") != nil)
        await second.stop()
    }

    /// Regression: a node whose catalog bootstrap timed out gave up, so when the metadata group
    /// had no quorum for longer than a request's timeout at first (every node's rounds failed),
    /// the cluster never became ready. Here no frame passes for 3 s, three timeouts' worth.
    @Test func aCatalogBootstrapThatTimedOutIsTriedAgain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var layout = ClusterInitializer.Layout(nodes: 4, directory: dir.path)
        layout.basePort = try await LocalCluster.freePortRange(8, group: MultiThreadedEventLoopGroup.singleton)
        layout.pgBasePort = layout.basePort + 4
        try ClusterInitializer.write(layout)
        var options = NodeRuntime.Options()
        options.requestTimeout = .seconds(1)
        let hub = InProcessHub()
        hub.pause()
        var nodes: [MeshNode] = []
        do {
            for index in 0..<4 {
                let config = try NodeConfig.load(path: dir.file("node-\(index).toml"))
                nodes.append(try await MeshNode.start(config: config, group: MultiThreadedEventLoopGroup.singleton, options: options, hub: hub))
            }
            try await Task.sleep(for: .seconds(3))
            #expect(nodes.allSatisfy { !$0.isReady }, "nothing can commit while the network drops every frame")
            hub.resume()
            for node in nodes { try await node.waitUntilReady(seconds: testClusterReadySeconds) }
            #expect(nodes.allSatisfy { $0.isReady })
        } catch {
            for node in nodes { await node.stop() }
            throw error
        }
        for node in nodes { await node.stop() }
    }
}
