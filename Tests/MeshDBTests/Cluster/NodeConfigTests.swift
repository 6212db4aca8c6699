import Foundation
import Testing
@testable import MeshDB

@Suite struct NodeConfigTests {
    @Test func initWritesConfigurationsThatLoadAndAgree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var layout = ClusterInitializer.Layout(nodes: 4, directory: dir.file("cluster"))
        layout.zones = ["a", "b"]
        let paths = try ClusterInitializer.write(layout)
        #expect(paths.count == 4)
        let configs = try paths.map { try NodeConfig.load(path: $0) }
        for (index, config) in configs.enumerated() {
            #expect(config.node.index == index)
            #expect(config.node.port == 7400 + index && config.node.pgPort == 5433 + index)
            #expect(config.cluster == configs[0].cluster, "every node lists the same members")
            let identity = try config.loadIdentity()
            #expect(identity.publicKey.hex == config.cluster.members[index].publicKey)
            #expect(config.dataDirectoryPath == dir.file("cluster/node-\(index)"))
            let permissions = try FileManager.default.attributesOfItem(atPath: config.keyFilePath)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
        }
        #expect(configs[0].cluster.members.map(\.zone) == ["a", "b", "a", "b"])
        #expect(configs[0].clusterID.count == 32)
    }

    @Test func initRefusesToOverwriteUnlessForced() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var layout = ClusterInitializer.Layout(nodes: 1, directory: dir.path)
        try ClusterInitializer.write(layout)
        #expect(throws: ConfigError.exists(dir.file("node-0.toml"))) { try ClusterInitializer.write(layout) }
        layout.overwrite = true
        try ClusterInitializer.write(layout)
    }

    @Test func aKeyFileThatIsNotTheListedKeyIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let paths = try ClusterInitializer.write(.init(nodes: 4, directory: dir.path))
        // Node 1 is handed node 2's key.
        try FileManager.default.removeItem(atPath: dir.file("node-1.key"))
        try FileManager.default.copyItem(atPath: dir.file("node-2.key"), toPath: dir.file("node-1.key"))
        #expect {
            try NodeConfig.load(path: paths[1]).loadIdentity()
        } throws: { error in
            "\(error)".contains("but the cluster lists")
        }
    }

    @Test func handEditedMistakesNameTheField() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try ClusterInitializer.write(.init(nodes: 4, directory: dir.path))[0]
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let edits: [(String, String, String)] = [
            ("durability = 'fsync'", "durability = 'sometimes'", "storage.durability"),
            ("port = 7401", "port = 7400", "reuses an address"),
            ("pg_port = 5436", "pg_port = 70000", "outside 1-65535"),
        ]
        for (find, replace, expected) in edits {
            let normalized = original.replacingOccurrences(of: "\"", with: "'")
            #expect(normalized.contains(find), "the written file contains \(find)")
            try normalized.replacingOccurrences(of: find, with: replace).write(toFile: path, atomically: true, encoding: .utf8)
            #expect {
                try NodeConfig.load(path: path)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}

extension NodeConfigTests {
    @Test func theBlobsSectionSetsChunkMaintenanceAndRefusesZeroNamingTheKey() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try ClusterInitializer.write(ClusterInitializer.Layout(nodes: 1, directory: dir.path))[0]
        let plain = try NodeConfig.load(path: path)
        #expect(plain.blobs == nil && plain.chunkMaintenance(over: ChunkMaintenance.Options()) == ChunkMaintenance.Options())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try (text + "\n[blobs]\nrepair_interval_seconds = 2\ngc_grace_seconds = 120\n").write(toFile: path, atomically: true, encoding: .utf8)
        let options = try NodeConfig.load(path: path).chunkMaintenance(over: ChunkMaintenance.Options())
        #expect(options.repairInterval == .seconds(2) && options.collectionGrace == .seconds(120))
        #expect(options.collectionInterval == ChunkMaintenance.Options().collectionInterval, "a key left out keeps its default")
        try (text + "\n[blobs]\ngc_grace_seconds = 0\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.invalid(path, "blobs.gc_grace_seconds must be at least 1; found 0")) { try NodeConfig.load(path: path) }
    }
}
