import ArgumentParser
import Foundation
import Logging
import MeshDB
import MeshWire
import NIOPosix

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run one node of a cluster.",
        discussion: """
            Reads a configuration written by `meshdb init`, opens the node's PBFT logs and shard \
            stores under its data directory (recovering from them after a crash), listens on its \
            port for nodes and native clients, and runs until SIGINT or SIGTERM.
            """)

    @Option(name: .long, help: "The node's configuration file (from `meshdb init`).")
    var config: String

    @OptionGroup var wire: WireOptions

    func run() async throws {
        let nodeConfig = try NodeConfig.load(path: config)
        let node = try await MeshNode.start(config: nodeConfig, group: MultiThreadedEventLoopGroup.singleton)
        let server = try await PostgresServer.start(gateway: node.gateway, host: nodeConfig.node.host, port: nodeConfig.node.pgPort,
                                                    options: wire.serverOptions())
        print("meshdb node \(node.index) listening on \(nodeConfig.node.host):\(nodeConfig.node.port), PostgreSQL on port \(server.port) (data in \(nodeConfig.dataDirectoryPath))")
        fflush(nil)
        let signal = await waitForTerminationSignal()
        print("meshdb node \(node.index): signal \(signal), stopping")
        await server.stop()
        await node.stop()
    }
}
