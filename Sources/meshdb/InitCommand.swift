import ArgumentParser
import MeshDB

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write keys and one configuration file per node for a local multi-process cluster.",
        discussion: """
            Writes DIR/node-I.key (an Ed25519 key, readable by its owner only) and DIR/node-I.toml for \
            each node I. Node I listens on BASE-PORT+I for nodes and native clients and on PG-BASE-PORT+I \
            for PostgreSQL clients. Start each node with `meshdb start --config DIR/node-I.toml`.
            """)

    @Option(name: .long, help: "Number of nodes (3f+1 tolerates f faulty ones: 4, 7, 10, ...).")
    var nodes: Int

    @Option(name: .long, help: "Directory for keys, configurations and node data.")
    var dir: String

    @Option(name: .long, help: "Node i listens on base-port + i.")
    var basePort = 7400

    @Option(name: .long, help: "Node i serves PostgreSQL clients on pg-base-port + i.")
    var pgBasePort = 5433

    @Option(name: .long, help: "Address every node binds and is reached at.")
    var host = "127.0.0.1"

    @Option(name: .long, parsing: .upToNextOption, help: "Zones assigned to nodes round-robin (placement spreads replicas over zones).")
    var zones: [String] = []

    @Option(name: .long, help: "fsync (default): each node's PBFT log reaches the disk before any reply; os: left to the OS (a power loss can lose acknowledged writes).")
    var durability = "fsync"

    @Flag(name: .long, help: "Overwrite existing configuration files.")
    var force = false

    func run() throws {
        guard let durability = ShardStore.Durability(rawValue: durability) else {
            throw ValidationError("--durability must be fsync or os")
        }
        var layout = ClusterInitializer.Layout(nodes: nodes, directory: dir)
        layout.basePort = basePort
        layout.pgBasePort = pgBasePort
        layout.host = host
        layout.zones = zones
        layout.durability = durability
        layout.overwrite = force
        let paths = try ClusterInitializer.write(layout)
        let faults = (nodes - 1) / 3
        print("wrote \(paths.count) node configurations to \(dir) (tolerates \(faults) faulty node\(faults == 1 ? "" : "s"))")
        for (index, path) in paths.enumerated() {
            print("  node \(index): meshdb start --config \(path)    # port \(basePort + index), PostgreSQL \(pgBasePort + index)")
        }
    }
}
