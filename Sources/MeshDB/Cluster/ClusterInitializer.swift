import Foundation

/// Writes what a local multi-process cluster needs: one Ed25519 key and one TOML configuration
/// per node, all naming the same members (`meshdb init`).
public enum ClusterInitializer {
    public struct Layout: Sendable {
        public var nodes: Int
        public var directory: String
        public var host = "127.0.0.1"
        /// Node i listens on basePort + i for nodes and native clients.
        public var basePort = 7400
        /// Node i listens on pgBasePort + i for PostgreSQL clients.
        public var pgBasePort = 5433
        public var zones: [String] = []
        public var durability = ShardStore.Durability.fsync
        public var overwrite = false

        public init(nodes: Int, directory: String) {
            self.nodes = nodes
            self.directory = directory
        }
    }

    /// The configuration file of each node, in index order.
    @discardableResult
    public static func write(_ layout: Layout) throws(ConfigError) -> [String] {
        guard (1...NodeConfig.membersMax).contains(layout.nodes) else {
            throw .invalid(layout.directory, "--nodes must be 1 to \(NodeConfig.membersMax); got \(layout.nodes)")
        }
        let fileManager = FileManager.default
        let configPaths = (0..<layout.nodes).map { (layout.directory as NSString).appendingPathComponent("node-\($0).toml") }
        if !layout.overwrite, let existing = configPaths.first(where: fileManager.fileExists(atPath:)) {
            throw .exists(existing)
        }
        do {
            try fileManager.createDirectory(atPath: layout.directory, withIntermediateDirectories: true)
        } catch {
            throw .invalid(layout.directory, "cannot create directory: \(error.localizedDescription)")
        }
        let identities = (0..<layout.nodes).map { _ in NodeKey.generate() }
        var generator = SystemRandomNumberGenerator()
        let clusterID = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let members = identities.enumerated().map { index, identity in
            NodeConfig.Member(index: index, publicKey: identity.publicKey.hex,
                              agreementKey: identity.agreementPublicKey.hex, host: layout.host,
                              port: layout.basePort + index, pgPort: layout.pgBasePort + index,
                              zone: layout.zones.isEmpty ? nil : layout.zones[index % layout.zones.count])
        }
        for (index, identity) in identities.enumerated() {
            let keyName = "node-\(index).key"
            let keyPath = (layout.directory as NSString).appendingPathComponent(keyName)
            let config = NodeConfig(
                node: .init(index: index, keyFile: keyName, dataDir: "node-\(index)", host: layout.host,
                            port: layout.basePort + index, pgPort: layout.pgBasePort + index),
                cluster: .init(id: hex(clusterID), members: members),
                storage: .init(durability: layout.durability.rawValue))
            do {
                // The private key is readable by its owner only.
                guard fileManager.createFile(atPath: keyPath, contents: Data(identity.keyFileContents.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
                    throw ConfigError.invalid(keyPath, "cannot write key file")
                }
                try Data(config.tomlString().utf8).write(to: URL(fileURLWithPath: configPaths[index]), options: .atomic)
            } catch let error as ConfigError {
                throw error
            } catch {
                throw .invalid(configPaths[index], "cannot write: \(error)")
            }
        }
        return configPaths
    }
}
