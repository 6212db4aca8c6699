import ArgumentParser
import Logging
import MeshDB
import PostgresNIO
import SQLShell

/// Where a client command finds a node: `--url` (a node's PostgreSQL URL, as every client command
/// takes it; the native port is learned from the node), `--node HOST:PORT` (the native port
/// itself), or every member of a `--config` file. Defaults to the local demo's first node.
struct NodeAddressOptions: ParsableArguments {
    @Option(name: .long, help: "The PostgreSQL URL of a node (default \(ConnectionURL.demo), the local demo).")
    var url: String?

    @Option(name: .long, help: "A node's native address HOST:PORT instead of --url.")
    var node: String?

    @Option(name: .long, help: "A node configuration file: reach the members it lists.")
    var config: String?

    func addresses() async throws -> [(host: String, port: Int)] {
        if let config {
            let loaded = try NodeConfig.load(path: config)
            return loaded.cluster.members.map { ($0.host, $0.port) }
        }
        if let node {
            guard let colon = node.lastIndex(of: ":"), let port = Int(node[node.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("--node must be HOST:PORT, got \(node)")
            }
            return [(String(node[..<colon]), port)]
        }
        guard let url else { return [("127.0.0.1", 7400)] }
        let target: ConnectionURL
        do {
            target = try ConnectionURL(parsing: url)
        } catch {
            throw ValidationError("\(error)")
        }
        return [(target.host, try await Self.nativePort(of: target))]
    }

    /// The native port of the node serving PostgreSQL at `url`: its `mesh_nodes` row is the one
    /// whose pg_port is the URL's port.
    static func nativePort(of url: ConnectionURL) async throws -> Int {
        var logger = Logger(label: "meshdb.client")
        logger.logLevel = .critical
        let configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                             database: url.database, tls: .disable)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            defer { Task { try? await connection.close() } }
            let rows = try await connection.query("SELECT port, pg_port FROM mesh_nodes", logger: logger)
            for try await (port, pgPort) in rows.decode((Int, Int).self) where pgPort == url.port {
                return port
            }
        } catch {
            let reason = ShellConnection.report(for: error).map { "\($0.sqlState ?? "")  \($0.message)" } ?? ShellConnection.describe(error)
            throw ClientCommandError("cannot learn the native port from \(url): \(reason)")
        }
        throw ClientCommandError("no node in mesh_nodes serves PostgreSQL on port \(url.port); is \(url) a MeshDB node?")
    }
}

/// A client command's failure at run time (not a usage error: no usage text follows it).
struct ClientCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
