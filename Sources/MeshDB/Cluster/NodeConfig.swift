import Foundation
import TOMLKit

/// One node's configuration file (TOML), as `meshdb init` writes it and `meshdb start` reads it.
/// Relative paths are relative to the directory of the file.
///
///     [node]
///     index = 0
///     key_file = "node-0.key"
///     data_dir = "node-0"
///     host = "127.0.0.1"
///     port = 7400          # nodes and native clients
///     pg_port = 5433       # PostgreSQL clients
///
///     [cluster]
///     id = "<64 hex digits>"
///     [[cluster.members]]
///     index = 0
///     public_key = "<64 hex digits>"      # Ed25519
///     agreement_key = "<64 hex digits>"   # X25519, for PBFT's MAC keys
///     host = "127.0.0.1"
///     port = 7400
///     pg_port = 5433
///     zone = "a"           # optional
///
///     [storage]
///     durability = "fsync" # the PBFT log is fsynced before any reply; "os": left to the OS
///
///     [blobs]              # optional: chunk repair, garbage collection, scrubbing (NodeConfig+Blobs)
///     gc_grace_seconds = 3600
public struct NodeConfig: Codable, Sendable, Hashable {
    public struct Node: Codable, Sendable, Hashable {
        public var index: Int
        public var keyFile: String
        public var dataDir: String
        public var host: String
        public var port: Int
        public var pgPort: Int

        enum CodingKeys: String, CodingKey {
            case index, host, port
            case keyFile = "key_file", dataDir = "data_dir", pgPort = "pg_port"
        }
    }

    public struct Member: Codable, Sendable, Hashable {
        public var index: Int
        /// Ed25519: identity on the transport, signatures on PBFT certificates.
        public var publicKey: String
        /// X25519: pairwise MAC keys for PBFT's normal case.
        public var agreementKey: String
        public var host: String
        public var port: Int
        public var pgPort: Int
        public var zone: String?

        enum CodingKeys: String, CodingKey {
            case index, host, port, zone
            case publicKey = "public_key", agreementKey = "agreement_key", pgPort = "pg_port"
        }
    }

    public struct Cluster: Codable, Sendable, Hashable {
        public var id: String
        public var members: [Member]
    }

    public struct Storage: Codable, Sendable, Hashable {
        public var durability: String
    }

    public var node: Node
    public var cluster: Cluster
    public var storage: Storage
    /// Chunk repair, garbage collection and scrubbing (`NodeConfig+Blobs.swift`); optional.
    public var blobs: Blobs?
    /// The directory relative paths resolve against; not part of the file.
    public var baseDirectory = "."

    enum CodingKeys: String, CodingKey { case node, cluster, storage, blobs }

    /// Most members a cluster configuration may list.
    public static let membersMax = 256

    public init(node: Node, cluster: Cluster, storage: Storage) {
        self.node = node
        self.cluster = cluster
        self.storage = storage
    }

    public var keyFilePath: String { resolve(node.keyFile) }
    public var dataDirectoryPath: String { resolve(node.dataDir) }
    public var durability: ShardStore.Durability { ShardStore.Durability(rawValue: storage.durability) ?? .fsync }

    public var clusterID: [UInt8] { parseHex(cluster.id) ?? [] }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    public func tomlString() throws -> String {
        try TOMLEncoder().encode(self)
    }

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(ConfigError) -> NodeConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable(path) }
        var config: NodeConfig
        do {
            config = try TOMLDecoder().decode(NodeConfig.self, from: text)
        } catch {
            throw .invalid(path, "\(error)")
        }
        config.baseDirectory = (path as NSString).deletingLastPathComponent
        if config.baseDirectory.isEmpty { config.baseDirectory = "." }
        try config.validate(path: path)
        return config
    }

    /// Checks what a typo or a hand edit could break; each error names the field.
    public func validate(path: String) throws(ConfigError) {
        func fail(_ message: String) -> ConfigError { .invalid(path, message) }
        guard clusterID.count == 32 else { throw fail("cluster.id must be 64 hex digits") }
        guard !cluster.members.isEmpty, cluster.members.count <= Self.membersMax else {
            throw fail("cluster.members must list 1 to \(Self.membersMax) members; found \(cluster.members.count)")
        }
        guard cluster.members.map(\.index) == Array(0..<cluster.members.count) else {
            throw fail("cluster.members must be listed by index 0, 1, 2, ... without gaps")
        }
        var keys = Set<String>()
        var addresses = Set<String>()
        for member in cluster.members {
            guard PublicKeyBytes(hex: member.publicKey) != nil else {
                throw fail("cluster.members[\(member.index)].public_key must be 64 hex digits")
            }
            guard PublicKeyBytes(hex: member.agreementKey) != nil else {
                throw fail("cluster.members[\(member.index)].agreement_key must be 64 hex digits")
            }
            guard keys.insert(member.publicKey.lowercased()).inserted else {
                throw fail("cluster.members[\(member.index)].public_key repeats another member's key")
            }
            for port in [member.port, member.pgPort] where !(1...65535).contains(port) {
                throw fail("cluster.members[\(member.index)] port \(port) is outside 1-65535")
            }
            guard addresses.insert("\(member.host):\(member.port)").inserted,
                  addresses.insert("\(member.host):\(member.pgPort)").inserted
            else {
                throw fail("cluster.members[\(member.index)] reuses an address: \(member.host):\(member.port)/\(member.pgPort)")
            }
        }
        guard cluster.members.indices.contains(node.index) else {
            throw fail("node.index \(node.index) is not a member index")
        }
        guard ShardStore.Durability(rawValue: storage.durability) != nil else {
            throw fail("storage.durability must be \"fsync\" or \"os\"; found \"\(storage.durability)\"")
        }
        try validateBlobs(path: path)
    }

    /// This node's identity, checked against the public key the cluster lists for it.
    public func loadIdentity() throws(ConfigError) -> NodeKey {
        let identity: NodeKey
        do {
            identity = try NodeKey(keyFile: keyFilePath)
        } catch {
            throw .identity(error.description)
        }
        let listed = cluster.members[node.index].publicKey.lowercased()
        guard identity.publicKey.hex == listed else {
            throw .identity("key file \(keyFilePath) holds key \(identity.publicKey.short), but the cluster lists \(listed.prefix(8)) for node \(node.index)")
        }
        guard identity.agreementPublicKey.hex == cluster.members[node.index].agreementKey.lowercased() else {
            throw .identity("key file \(keyFilePath) does not match agreement_key listed for node \(node.index)")
        }
        return identity
    }
}

public enum ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)
    case identity(String)
    case exists(String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read configuration file \(path)"
        case .invalid(let path, let message): "invalid configuration \(path): \(message)"
        case .identity(let message): "node identity: \(message)"
        case .exists(let path): "\(path) already exists; pass --force to overwrite"
        }
    }
}
