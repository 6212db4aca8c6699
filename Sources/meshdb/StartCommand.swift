import ArgumentParser
import Foundation
import Logging
import MeshDB
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

    func run() async throws {
        let nodeConfig = try NodeConfig.load(path: config)
        let node = try await MeshNode.start(config: nodeConfig, group: MultiThreadedEventLoopGroup.singleton)
        print("meshdb node \(node.index) listening on \(nodeConfig.node.host):\(nodeConfig.node.port) (data in \(nodeConfig.dataDirectoryPath))")
        fflush(nil)
        let signal = await waitForTerminationSignal()
        print("meshdb node \(node.index): signal \(signal), stopping")
        await node.stop()
    }
}
