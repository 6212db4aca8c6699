import ArgumentParser
import Foundation
import MeshDB
import MeshWire
import SQLShell

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a whole cluster in this process: the one-command way to try MeshDB.",
        discussion: """
            Starts N nodes (default 4, tolerating one faulty node) in one process, ordering every \
            write with PBFT and keeping the shards on SQLite under --data. The first run writes keys \
            and configurations there; later runs find the data again. Node i serves native clients on \
            7400+i (try `meshdb status`) and PostgreSQL clients on --port+i (any driver, psql, pgbench). \
            Then it opens the SQL shell (`meshdb sql`) on node 0's PostgreSQL port and stops the cluster \
            when the shell exits (\\q or Ctrl-D); when stdin is not a terminal, the shell runs the statements \
            read there. With --no-repl it runs until SIGINT or SIGTERM.
            """)

    @Option(name: .long, help: "Number of nodes (3f+1: 4 tolerates 1 faulty node, 7 tolerates 2).")
    var nodes = 4

    @Option(name: .long, help: "Data directory (default ~/.meshdb/demo).")
    var data: String?

    @Option(name: .long, help: "PostgreSQL port of node 0 (node i uses port+i).")
    var port = 5433

    @Option(name: .long, help: "Native port of node 0 (node i uses base-port+i).")
    var basePort = 7400

    @Flag(name: .long, help: "Run without the interactive shell until SIGINT/SIGTERM.")
    var noRepl = false

    @OptionGroup var wire: WireOptions

    func run() async throws {
        let started = ContinuousClock.now
        let directory = data ?? (NSHomeDirectory() as NSString).appendingPathComponent(".meshdb/demo")
        var options = LocalCluster.Options(nodes: nodes)
        options.directory = directory
        options.basePort = basePort
        options.pgBasePort = port
        options.readySeconds = 30
        options.waitsForEveryNode = false
        let cluster = try await LocalCluster.start(options)
        if cluster.initializedDirectory {
            print("initialized a \(nodes)-node cluster in \(directory)")
        }
        let configs = try (0..<nodes).map { try NodeConfig.load(path: cluster.configPath(node: $0)) }
        var servers: [PostgresServer] = []
        let serverOptions = try wire.serverOptions()
        for (index, node) in cluster.nodes.enumerated() {
            servers.append(try await PostgresServer.start(gateway: node.gateway, host: configs[index].node.host,
                                                          port: configs[index].node.pgPort, options: serverOptions))
        }
        let elapsed = ContinuousClock.now - started
        let tables = (try? cluster.gateway.catalogSnapshot().sortedTables.count) ?? 0
        print("""
            MeshDB demo ready in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))): \
            \(nodes) nodes tolerating \((nodes - 1) / 3) faulty, data in \(directory), \(tables) table\(tables == 1 ? "" : "s")
            connect: postgres://meshdb@127.0.0.1:\(servers[0].port)/meshdb (psql -h 127.0.0.1 -p \(servers[0].port) -U meshdb meshdb)
            native endpoints: \(configs.map { "\($0.node.host):\($0.node.port)" }.joined(separator: " "))
            try: meshdb status --url postgres://meshdb@127.0.0.1:\(servers[0].port)/meshdb
            \(noRepl ? "stop with Ctrl-C" : "the SQL shell follows; \\q or Ctrl-D stops the demo")
            """)
        fflush(nil)
        if noRepl {
            _ = await waitForTerminationSignal()
        } else {
            var url = ConnectionURL.demo
            url.port = servers[0].port
            // With --pg-auth the shell signs in as the first --pg-user (WireOptions checked its form).
            if wire.authentication != "trust", let user = wire.users.first, let colon = user.firstIndex(of: ":") {
                url.user = String(user[..<colon])
                url.password = String(user[user.index(after: colon)...])
            }
            if wire.tlsCertificate != nil { url.sslMode = .require }
            _ = await SQLCommand.runShell(url: url, style: .aligned)
        }
        print("stopping the demo")
        for server in servers { await server.stop() }
        await cluster.stop()
    }
}
