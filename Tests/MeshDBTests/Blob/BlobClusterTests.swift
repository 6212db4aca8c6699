import Crypto
import Foundation
import Testing
@testable import MeshDB
import TestSupport

/// `BlobClient` against an in-process 4-node cluster: chunks over each node's native port, the
/// name through the metadata group, faults on real chunk stores.
@Suite(.heavy, .serialized) struct BlobClusterTests {
    static func withCluster(_ body: (LocalCluster, BlobClient) async throws -> Void) async throws {
        let demo = try await GatewayTests.startDemo()
        let member = demo.nodes[0].layout.members[0]
        var options = BlobClient.Options()
        options.requestTimeout = .seconds(10)
        let client: BlobClient
        do {
            client = try await BlobClient.connect(host: member.host, port: member.port, options: options)
        } catch {
            await demo.stop()
            throw error
        }
        do {
            try await body(demo, client)
        } catch {
            await client.close()
            await demo.stop()
            throw error
        }
        await client.close()
        await demo.stop()
    }

    /// Puts `value` in buffers of 100,000 bytes (not aligned with chunks) and reads it back.
    static func roundTrip(_ client: BlobClient, _ name: String, _ value: [UInt8]) async throws -> (CatalogBlob, [UInt8]) {
        var offset = 0
        let blob = try await client.put(name: name, createdMicros: 1_700_000_000_000_000) { count in
            let end = min(offset + min(count, 100_000), value.count)
            defer { offset = end }
            return Array(value[offset..<end])
        }
        var out: [UInt8] = []
        _ = try await client.get(name: name) { out += $0 }
        return (blob, out)
    }

    @Test func valuesOfEverySizeRoundTripWithTheirSHA256() async throws {
        try await Self.withCluster { _, client in
            var random = SeededBytes(seed: 21)
            for size in [0, 1, 65_535, 65_537, 10 << 20] {
                let value = random.bytes(size)
                let (blob, out) = try await Self.roundTrip(client, "value-\(size)", value)
                #expect(out.count == size)
                #expect(Array(SHA256.hash(data: out)) == Array(SHA256.hash(data: value)), "\(size) bytes")
                #expect(blob.root.totalBytes == size && blob.root.sha256 == Array(SHA256.hash(data: value)))
            }
            let names = try await client.list().map(\.name)
            #expect(names == ["value-0", "value-1", "value-10485760", "value-65535", "value-65537"])
        }
    }

    @Test func eachChunkLivesOnThreeDistinctNodes() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 22)
            let (blob, _) = try await Self.roundTrip(client, "spread", random.bytes(3 << 20))
            for chunk in blob.root.directManifest.chunks {
                let holders = demo.nodes.filter { $0.chunks.has(chunk.id) }.count
                #expect(holders == 3, "chunk \(chunk.id) is on \(holders) nodes")
            }
        }
    }

    @Test func theSameValuePutTwiceIsStoredOnce() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 23)
            let value = random.bytes(4 << 20)
            _ = try await Self.roundTrip(client, "first", value)
            let before = demo.nodes.map { $0.chunks.currentStats }
            let (second, out) = try await Self.roundTrip(client, "second", value)
            #expect(out == value)
            #expect(demo.nodes.map { $0.chunks.currentStats } == before, "no node stored a new chunk")
            #expect(try await client.list().map(\.root) == [second.root, second.root])
        }
    }

    @Test func mesh_blobsIsQueryableBySQLAndRemoveForgetsTheName() async throws {
        try await Self.withCluster { demo, client in
            _ = try await Self.roundTrip(client, "notes/a b.txt", Array("hello, blobs".utf8))
            let session = SQLSession(gateway: demo.nodes[1].gateway)
            let rows = try await session.execute("SELECT name, size, chunks, sha256, created FROM mesh_blobs")[0].rows
            #expect(rows == [[.text("notes/a b.txt"), .integer(12), .integer(1),
                              .text(hex(Array(SHA256.hash(data: Array("hello, blobs".utf8))))),
                              .text("2023-11-14 22:13:20.000000+00")]])
            // A taken or bad name is refused before anything is read or uploaded.
            for name in ["notes/a b.txt", "", "bell\u{7}"] {
                await #expect(throws: GatewayError.self) {
                    _ = try await client.put(name: name, createdMicros: 0) { _ in
                        Issue.record("the source of \(name) was read")
                        return []
                    }
                }
            }
            try await client.remove(named: "notes/a b.txt")
            #expect(try await client.list().isEmpty)
            await #expect(throws: BlobError.notFound("blob \"notes/a b.txt\" does not exist")) {
                _ = try await client.get(name: "notes/a b.txt") { _ in }
            }
        }
    }

    @Test func aCorruptCopyOnDiskIsReadAroundAndRepaired() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 24)
            let value = random.bytes(2 << 20)
            let (blob, _) = try await Self.roundTrip(client, "damaged", value)
            // Flip one payload byte of the first chunk's copy on its first owner: same size, so
            // only the hash shows it.
            let first = blob.root.directManifest.chunks[0].id
            let placement = try client.transfer.placement()
            let owner = demo.nodes[Int(placement.ranking(of: first.bytes)[0])!]
            try owner.chunks.damageCopy(of: first)

            var out: [UInt8] = []
            let report = try await client.get(name: "damaged") { out += $0 }
            #expect(out == value)
            #expect(report.repairedCopies == 1)
            #expect(try owner.chunks.get(first).count == blob.root.directManifest.chunks[0].plainBytes, "the copy was replaced")
        }
    }

    @Test func readsAndWritesSurviveALostNode() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 25)
            let before = random.bytes(3 << 20)
            _ = try await Self.roundTrip(client, "before", before)
            await demo.nodes[2].stop()
            var out: [UInt8] = []
            _ = try await client.get(name: "before") { out += $0 }
            #expect(out == before, "every chunk has copies on two other nodes")
            let after = random.bytes(3 << 20)
            let (blob, read) = try await Self.roundTrip(client, "after", after)
            #expect(read == after)
            for chunk in blob.root.directManifest.chunks {
                let holders = [0, 1, 3].filter { demo.nodes[$0].chunks.has(chunk.id) }.count
                #expect(holders == 3, "copies meant for the lost node went to the next node of the ranking")
            }
        }
    }

    /// Regression (review of the blob store): a put over a damaged copy of the same size was
    /// acknowledged as stored, counting toward W, because only the header and size were checked.
    @Test func aPutOverADamagedCopyOfTheSameSizeReplacesIt() async throws {
        try await Self.withCluster { demo, _ in
            let member = demo.nodes[0].layout.members[0]
            let raw = try await MeshClient.connect(host: member.host, port: member.port)
            var random = SeededBytes(seed: 31)
            let bytes = random.bytes(50_000)
            let id = ChunkID(of: bytes)
            do {
                try demo.nodes[0].chunks.put(bytes)
                let path = demo.nodes[0].chunks.path(of: id)
                var file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                file[ChunkStore.headerBytes + 100] ^= 0xFF
                try Data(file).write(to: URL(fileURLWithPath: path))
                #expect(throws: ChunkStoreError.self) { try demo.nodes[0].chunks.get(id) }
                let answer = try await raw.send(.chunkPut(bytes: bytes))
                guard case .chunkStored(let stored, _) = answer else {
                    Issue.record("unexpected answer \(answer)")
                    await raw.close()
                    return
                }
                #expect(stored, "the damaged copy was acknowledged instead of replaced")
                #expect(try demo.nodes[0].chunks.get(id) == bytes)
            } catch {
                await raw.close()
                throw error
            }
            await raw.close()
        }
    }

    @Test func aWriteQuorumBelowFPlusOneIsRefusedBeforeAnyChunkMoves() async throws {
        let demo = try await GatewayTests.startDemo()
        let member = demo.nodes[0].layout.members[0]
        var options = BlobClient.Options()
        options.requestTimeout = .seconds(10)
        options.transfer.writeQuorum = 1
        do {
            let client = try await BlobClient.connect(host: member.host, port: member.port, options: options)
            do {
                _ = try await client.put(name: "weak", createdMicros: 0) { _ in [] }
                Issue.record("a put with W = 1 of 4 nodes was taken")
            } catch let error as BlobError {
                #expect(error.description == "blob_write_quorum = 1 is below f + 1 = 2 for 4 nodes")
            }
            #expect(try await client.blob(named: "weak") == nil)
            #expect(demo.nodes.allSatisfy { $0.chunks.currentStats.chunkCount == 0 })
            await client.close()
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }

    @Test func aNameIsRefusedUntilFPlusOneNodesHoldEveryChunk() async throws {
        try await Self.withCluster { demo, client in
            let member = demo.nodes[0].layout.members[0]
            let raw = try await MeshClient.connect(host: member.host, port: member.port)
            defer { Task { await raw.close() } }
            let bytes = Array("a chunk stored on one node only".utf8)
            let manifest = try BlobManifest(totalBytes: bytes.count, sha256: Array(SHA256.hash(data: bytes)),
                                            chunks: [BlobManifest.Chunk(id: ChunkID(of: bytes), plainBytes: bytes.count, storedBytes: bytes.count)])
            let blob = CatalogBlob(name: "claimed", root: .direct(manifest), createdMicros: 0)
            // A client that claims the chunk is stored when no node has it...
            await #expect(throws: GatewayError.self) { _ = try await raw.send(.blobCommit(blob)) }
            // ...or when only one of the f + 1 = 2 nodes needed holds it.
            try demo.nodes[3].chunks.put(bytes)
            do {
                _ = try await raw.send(.blobCommit(blob))
                Issue.record("a chunk on one node was accepted")
            } catch let error as GatewayError {
                #expect(error.sqlState == "55000" && error.message.contains("held by 1 of the 2 nodes"), "\(error)")
            }
            #expect(try await client.blob(named: "claimed") == nil)
            try demo.nodes[1].chunks.put(bytes)
            _ = try await raw.send(.blobCommit(blob))
            #expect(try await client.blob(named: "claimed") == blob)
        }
    }

    @Test func aChunkAboveTheLimitIsAnsweredWithTheLimitsName() async throws {
        try await Self.withCluster { demo, _ in
            let member = demo.nodes[0].layout.members[0]
            let raw = try await MeshClient.connect(host: member.host, port: member.port)
            defer { Task { await raw.close() } }
            let limit = ClientRequest.Limits().chunkBytesMax
            do {
                _ = try await raw.send(.chunkPut(bytes: [UInt8](repeating: 7, count: limit + 1)))
                Issue.record("a chunk of \(limit + 1) bytes was taken")
            } catch let error as GatewayError {
                #expect(error.sqlState == "54000" && error.message.contains("chunk_max_bytes"), "\(error)")
            }
            // The connection is still usable.
            #expect(try await raw.send(.chunkHas([ChunkID(of: [1])])) == .presence([false]))
        }
    }

    /// Small chunks and manifest_chunks_max = 8: a 100 KB value needs an index.
    static func indexedOptions() -> BlobClient.Options {
        var options = BlobClient.Options()
        options.requestTimeout = .seconds(10)
        options.transfer.chunkLimits = ContentDefinedChunker.Limits(minBytes: 256, averageBytes: 1024, maxBytes: 4096)
        options.transfer.rootLimits.direct.chunksMax = 8
        return options
    }

    @Test func aValueOfManyChunksIsNamedThroughAnIndex() async throws {
        try await Self.withCluster { demo, _ in
            let member = demo.nodes[0].layout.members[0]
            let client = try await BlobClient.connect(host: member.host, port: member.port, options: Self.indexedOptions())
            defer { Task { await client.close() } }
            var random = SeededBytes(seed: 26)
            let value = random.bytes(100_000)
            let (blob, out) = try await Self.roundTrip(client, "indexed", value)
            #expect(out == value)
            guard case .indirect(let indirect) = blob.root else {
                Issue.record("a value of \(blob.root.chunkCount) chunks got a direct root")
                return
            }
            #expect(indirect.chunkCount > 8 && indirect.index.chunks.count <= 8)
            let session = SQLSession(gateway: demo.nodes[2].gateway)
            let rows = try await session.execute("SELECT size, chunks FROM mesh_blobs WHERE name = 'indexed'")[0].rows
            #expect(rows == [[.integer(100_000), .integer(Int64(indirect.chunkCount))]])
        }
    }

    @Test func anIndexWhoseDataChunksAreMissingIsRefused() async throws {
        try await Self.withCluster { demo, client in
            // A full manifest of chunks nobody stored, and its encoding stored on two nodes as the index.
            let data = (0..<20).map { Array("missing data chunk \($0)".utf8) }
            let full = try BlobManifest(totalBytes: data.map(\.count).reduce(0, +), sha256: Array(SHA256.hash(data: data.flatMap { $0 })),
                                        chunks: data.map { BlobManifest.Chunk(id: ChunkID(of: $0), plainBytes: $0.count, storedBytes: $0.count) })
            let encoding = full.encoded()
            let index = try BlobManifest(totalBytes: encoding.count, sha256: Array(SHA256.hash(data: encoding)),
                                         chunks: [BlobManifest.Chunk(id: ChunkID(of: encoding), plainBytes: encoding.count, storedBytes: encoding.count)])
            for node in [1, 2] { try demo.nodes[node].chunks.put(encoding) }
            let blob = CatalogBlob(name: "hollow", root: try BlobRoot(full: full, index: index), createdMicros: 0)
            let member = demo.nodes[0].layout.members[0]
            let raw = try await MeshClient.connect(host: member.host, port: member.port)
            defer { Task { await raw.close() } }
            do {
                _ = try await raw.send(.blobCommit(blob))
                Issue.record("an index over missing chunks was named")
            } catch let error as GatewayError {
                #expect(error.sqlState == "55000" && error.message.contains("held by 0 of the 2 nodes"), "\(error)")
            }
            #expect(try await client.blob(named: "hollow") == nil)
        }
    }
}


extension BlobRoot {
    /// The manifest of a root the test knows to be direct (few chunks).
    var directManifest: BlobManifest {
        guard case .direct(let manifest) = self else { preconditionFailure("expected a direct root, got \(self)") }
        return manifest
    }
}
