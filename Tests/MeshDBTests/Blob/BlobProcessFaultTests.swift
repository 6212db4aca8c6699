import Foundation
import Testing
import TestSupport
@testable import MeshDB

/// Blob faults on four `meshdb start` processes (issue 8's acceptance): a chunk copy corrupted on
/// one node's disk is read around and repaired; a node killed with SIGKILL leaves every blob
/// readable; once `meshdb node down` marks it down, repair restores 3 copies of every chunk on
/// the other three, and `meshdb status` shows the copies made.
@Suite(.heavy, .serialized) struct BlobProcessFaultTests {
    @Test func aCorruptCopyIsRepairedAndAKilledNodeLeavesBlobsReadable() async throws {
        let cluster = try await ProcessCluster(nodes: 4)
        try await cluster.run { cluster in
            try await cluster.startAll()
            try await cluster.waitUntilReady()
            var options = BlobClient.Options()
            options.requestTimeout = .seconds(10)
            let client = try await BlobClient.connect(host: "127.0.0.1", port: cluster.port(0), options: options)
            defer { Task { await client.close() } }
            var random = SeededBytes(seed: 41)
            let value = random.bytes(5 << 20)
            var offset = 0
            let blob = try await client.put(name: "faults", createdMicros: 0) { count in
                let end = min(offset + count, value.count)
                defer { offset = end }
                return Array(value[offset..<end])
            }
            cluster.expect(blob.root.directManifest.chunks.count >= 2, "5 MiB makes several chunks: \(blob.root.directManifest.chunks.count)")

            // Damage the first chunk's copy on its first owner, keeping its size.
            let first = blob.root.directManifest.chunks[0].id
            let owner = Int(try client.transfer.placement().ranking(of: first.bytes)[0])!
            let data = try NodeConfig.load(path: cluster.configPath(owner)).dataDirectoryPath
            let path = "\(data)/chunks/chunks/\(first.hex.prefix(2))/\(first.hex)"
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            var damaged = good
            damaged[ChunkStore.headerBytes + 100] ^= 0x5A
            try damaged.write(to: URL(fileURLWithPath: path))

            var out: [UInt8] = []
            let report = try await client.get(name: "faults") { out += $0 }
            cluster.expect(out == value, "the read around the damaged copy returned other bytes")
            cluster.expect(report.repairedCopies == 1, "repaired \(report.repairedCopies) copies, expected 1")
            cluster.expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good, "node \(owner)'s copy was not replaced")

            // Kill a node that holds copies (not node 0, which orders the client's requests).
            let victim = owner == 0 ? 1 : owner
            let ids = blob.root.directManifest.distinctChunkIDs
            let chunkPath = { (node: Int, id: ChunkID) throws -> String in
                "\(try NodeConfig.load(path: cluster.configPath(node)).dataDirectoryPath)/chunks/chunks/\(id.hex.prefix(2))/\(id.hex)"
            }
            let onVictim = try ids.filter { FileManager.default.fileExists(atPath: try chunkPath(victim, $0)) }
            cluster.kill9(victim)
            out = []
            _ = try await client.get(name: "faults") { out += $0 }
            cluster.expect(out == value, "the read with node \(victim) killed returned other bytes")

            // Marked down, its copies are re-made on the others within a repair round or two
            // (allowed two minutes: the whole suite shares the machine in CI).
            let meshdb = try builtProduct("meshdb").path
            let address = ["--node", "127.0.0.1:\(cluster.port(0))"]
            let down = try await runTool(meshdb, ["node", "down", "\(victim)"] + address, seconds: 60)
            cluster.expect(down.status == 0 && down.output.contains("node \(victim) is down"), "meshdb node down:\n\(down.output)")
            let others = (0..<4).filter { $0 != victim }
            let copies = { try ids.map { id in try others.filter { FileManager.default.fileExists(atPath: try chunkPath($0, id)) }.count } }
            let deadline = ContinuousClock.now + .seconds(120)
            while try copies().contains(where: { $0 < 3 }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
            let restored = try copies()
            cluster.expect(restored.allSatisfy { $0 == 3 }, "copies per chunk on the three up nodes: \(restored)")
            out = []
            _ = try await client.get(name: "faults") { out += $0 }
            cluster.expect(out == value, "the read after repair returned other bytes")

            let status = try await runTool(meshdb, ["status"] + address, seconds: 60)
            let chunkRows = status.output.split(separator: "\n", omittingEmptySubsequences: false)
                .drop { !$0.hasPrefix("NODE  CHUNKS") }.dropFirst().prefix { !$0.isEmpty }
            let made = chunkRows.compactMap { row in row.split(separator: " ").dropFirst(4).first.flatMap { Int($0) } }.reduce(0, +)
            cluster.expect(status.status == 0 && made == onVictim.count,
                           "meshdb status should show \(onVictim.count) copies made (node \(victim) held them):\n\(status.output)")
            cluster.expect(status.output.contains("down     down"), "node \(victim) is down in the catalog and unreachable:\n\(status.output)")
            let up = try await runTool(meshdb, ["node", "up", "\(victim)"] + address, seconds: 60)
            cluster.expect(up.status == 0 && up.output.contains("node \(victim) is up"), "meshdb node up:\n\(up.output)")
            let missing = try await runTool(meshdb, ["node", "down", "9"] + address, seconds: 60)
            cluster.expect(missing.status != 0 && missing.output.contains("node 9 is not registered"), "an unknown node:\n\(missing.output)")
        }
    }
}
