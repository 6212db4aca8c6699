import ArgumentParser
import MeshDB

/// Where a client command finds a node: `--node HOST:PORT` (the node's native port), or every
/// member of a `--config` file. Defaults to the local demo's first node.
struct NodeAddressOptions: ParsableArguments {
    @Option(name: .long, help: "A node's native address HOST:PORT (default 127.0.0.1:7400, the local demo).")
    var node: String?

    @Option(name: .long, help: "A node configuration file: reach the members it lists.")
    var config: String?

    func addresses() throws -> [(host: String, port: Int)] {
        if let config {
            let loaded = try NodeConfig.load(path: config)
            return loaded.cluster.members.map { ($0.host, $0.port) }
        }
        let text = node ?? "127.0.0.1:7400"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--node must be HOST:PORT, got \(text)")
        }
        return [(String(text[..<colon]), port)]
    }
}
