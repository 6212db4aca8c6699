import ArgumentParser
import MeshDB

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Mark a node down or up in the catalog (mesh_nodes.state).",
        discussion: """
            The change is a catalog command, ordered by the metadata group like DDL, so every node \
            sees it at the same point. A node marked down gets no new blob chunks and is not asked \
            for chunks, and repair re-makes its copies on the other up nodes until each chunk has \
            3 copies again (progress in `meshdb status`). Mark it up again once it is back: its \
            copies count again, and garbage collection keeps only what blobs reference. \
            The nodes' PBFT groups are not changed: a down node still counts toward their size. \
            See docs/cluster.md.
            """,
        subcommands: [NodeDownCommand.self, NodeUpCommand.self])
}

struct NodeDownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Mark node INDEX down (mesh_nodes.node_index).")

    @OptionGroup var target: NodeStateTarget

    func run() async throws { try await target.set(.down) }
}

struct NodeUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Mark node INDEX up again (mesh_nodes.node_index).")

    @OptionGroup var target: NodeStateTarget

    func run() async throws { try await target.set(.up) }
}

/// The node to mark and the node to ask.
struct NodeStateTarget: ParsableArguments {
    @Argument(help: "The node's index, as mesh_nodes lists it.")
    var index: UInt32

    @OptionGroup var address: NodeAddressOptions

    /// Orders the state change through the first node of `address` that answers.
    func set(_ state: CatalogNode.State) async throws {
        var failures: [String] = []
        for (host, port) in try await address.addresses() {
            let client: MeshClient
            do {
                client = try await MeshClient.connect(host: host, port: port, timeout: .seconds(5))
            } catch {
                failures.append("\(host):\(port): \(error)")
                continue
            }
            defer { Task { await client.close() } }
            let response = try await client.send(.catalog(.setNodeState(index: index, state: state)))
            guard case .done = response else { throw ClientCommandError("unexpected answer: \(response)") }
            print("node \(index) is \(state.name)")
            return
        }
        throw ClientCommandError("no node answered: \(failures.joined(separator: "; "))")
    }
}
