import ArgumentParser
import Foundation
import MeshDB
import NIOPosix

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a whole cluster in this process: the one-command way to try MeshDB.",
        discussion: """
            Starts N nodes (default 4, tolerating one faulty node) in one process, ordering every \
            write with PBFT and keeping the shards on SQLite under --data. The first run writes keys \
            and configurations there; later runs find the data again. Node i serves native clients on \
            7400+i (try `meshdb status`). Runs until SIGINT or SIGTERM. The interactive SQL shell and \
            the PostgreSQL port come with later releases; --no-repl is accepted for scripts today.
            """)

    @Option(name: .long, help: "Number of nodes (3f+1: 4 tolerates 1 faulty node, 7 tolerates 2).")
    var nodes = 4

    @Option(name: .long, help: "Data directory (default ~/.meshdb/demo).")
    var data: String?

    @Option(name: .long, help: "PostgreSQL port of node 0 (node i uses port+i) once the wire protocol is there.")
    var port = 5433

    @Option(name: .long, help: "Native port of node 0 (node i uses base-port+i).")
    var basePort = 7400

    @Flag(name: .long, help: "Run without the interactive shell until SIGINT/SIGTERM.")
    var noRepl = false

    func run() async throws {
        let started = ContinuousClock.now
        let directory = data ?? (NSHomeDirectory() as NSString).appendingPathComponent(".meshdb/demo")
        let configPaths = (0..<nodes).map { (directory as NSString).appendingPathComponent("node-\($0).toml") }
        if !configPaths.allSatisfy(FileManager.default.fileExists(atPath:)) {
            var layout = ClusterInitializer.Layout(nodes: nodes, directory: directory)
            layout.basePort = basePort
            layout.pgBasePort = port
            try ClusterInitializer.write(layout)
            print("initialized a \(nodes)-node cluster in \(directory)")
        }
        let configs = try configPaths.map { try NodeConfig.load(path: $0) }
        let hub = InProcessHub()
        var running: [MeshNode] = []
        for config in configs {
            running.append(try await MeshNode.start(config: config, group: MultiThreadedEventLoopGroup.singleton, hub: hub))
        }
        try await running[0].waitUntilReady(seconds: 30)
        let elapsed = ContinuousClock.now - started
        let tables = (try? running[0].gateway.catalogSnapshot().sortedTables.count) ?? 0
        print("""
            MeshDB demo ready in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))): \
            \(nodes) nodes tolerating \((nodes - 1) / 3) faulty, data in \(directory), \(tables) table\(tables == 1 ? "" : "s")
            native endpoints: \(configs.map { "\($0.node.host):\($0.node.port)" }.joined(separator: " "))
            try: meshdb status --node 127.0.0.1:\(basePort)
            stop with Ctrl-C
            """)
        fflush(nil)
        _ = await waitForTerminationSignal()
        print("stopping the demo")
        for node in running { await node.stop() }
    }
}
