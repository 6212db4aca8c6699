import ArgumentParser
import MeshDB

@main
struct MeshDBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshdb",
        abstract: "MeshDB: a Byzantine-fault-tolerant distributed database for decentralized applications.",
        discussion: """
            Structured tables and unstructured blobs, sharded and replicated across resource nodes; metadata \
            and every structured write ordered by PBFT, so f faulty nodes of 3f+1 can neither lose nor \
            corrupt data. See README.md and docs/ for the tour.
            """,
        version: "meshdb \(MeshDBVersion.string)",
        subcommands: [
            DemoCommand.self,
            InitCommand.self,
            StartCommand.self,
            StatusCommand.self,
            NodeCommand.self,
            SQLCommand.self,
            BlobCommand.self,
            SimCommand.self,
            BenchCommand.self,
        ]
    )
}
