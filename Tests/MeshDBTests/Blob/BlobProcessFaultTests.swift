import Foundation
import Testing
@testable import MeshDB

/// Blob faults on four `meshdb start` processes (issue 8's acceptance, first part): a chunk copy
/// corrupted on one node's disk is read around and repaired; a node killed with SIGKILL leaves
/// every blob readable.
@Suite(.serialized) struct BlobProcessFaultTests {
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
            cluster.kill9(victim)
            out = []
            _ = try await client.get(name: "faults") { out += $0 }
            cluster.expect(out == value, "the read with node \(victim) killed returned other bytes")
        }
    }
}
