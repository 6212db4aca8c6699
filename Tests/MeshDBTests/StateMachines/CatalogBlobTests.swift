import Consensus
import Crypto
import Testing

@testable import MeshDB

/// Named blobs in the catalog: `putBlob` / `dropBlob` as the metadata group orders them, the
/// `mesh_blobs` rows, and snapshots with blobs.
@Suite struct CatalogBlobTests {
    static func blob(_ name: String, bytes: [UInt8] = [1, 2, 3], created: Int64 = 0) throws -> CatalogBlob {
        let chunk = BlobManifest.Chunk(id: ChunkID(of: bytes), plainBytes: bytes.count, storedBytes: bytes.count)
        let manifest = try BlobManifest(totalBytes: bytes.count, sha256: Array(SHA256.hash(data: bytes)), chunks: [chunk])
        return CatalogBlob(name: name, root: .direct(manifest), createdMicros: created)
    }

    @Test func putListAndDropBlobs() throws {
        var catalog = CatalogStateMachineTests.booted()
        let results = CatalogStateMachineTests.run(&catalog, [
            .putBlob(try Self.blob("b.bin")), .putBlob(try Self.blob("a/photo 1.jpg", bytes: [9])), .putBlob(try Self.blob("b.bin")),
        ])
        #expect(results[0] == .ok("PUT BLOB") && results[1] == .ok("PUT BLOB"))
        #expect(CatalogStateMachineTests.sqlState(results[2]) == "42710", "a taken name")
        #expect(catalog.sortedBlobs.map(\.name) == ["a/photo 1.jpg", "b.bin"])
        let rows = catalog.meshBlobs()
        #expect(rows.columns == ["name", "size", "sha256", "chunks", "stored_bytes", "manifest", "created"])
        #expect(rows.rows[1] == [.text("b.bin"), .integer(3), .text(hex(Array(SHA256.hash(data: [1, 2, 3])))), .integer(1), .integer(3),
                                 .blob(try Self.blob("b.bin").root.encoded()), .text("1970-01-01 00:00:00.000000+00")])
        let dropped = CatalogStateMachineTests.run(&catalog, [
            .dropBlob(name: "b.bin", ifExists: false), .dropBlob(name: "b.bin", ifExists: false), .dropBlob(name: "b.bin", ifExists: true),
        ])
        #expect(dropped[0] == .ok("REMOVE BLOB"))
        #expect(CatalogStateMachineTests.sqlState(dropped[1]) == "42704")
        #expect(dropped[2] == .skipped("REMOVE BLOB", notice: "blob \"b.bin\" does not exist, skipping"))
    }

    @Test func namesAndCountsKeepTheirLimits() throws {
        var limits = CatalogLimits()
        limits.blobsMax = 1
        var catalog = CatalogStateMachine(limits: limits)
        let results = CatalogStateMachineTests.run(&catalog, [
            .putBlob(try Self.blob("")), .putBlob(try Self.blob("tab\there")), .putBlob(try Self.blob(String(repeating: "x", count: 256))),
            .putBlob(try Self.blob("one")), .putBlob(try Self.blob("two")),
        ])
        // A name over blob_name_bytes_max is refused while decoding, as a limit (53400).
        #expect(results.map(CatalogStateMachineTests.sqlState) == ["42602", "42602", "53400", nil, "53400"])
        guard case .error(let error) = results[4] else { return }
        #expect(error.message.contains("blobs_max = 1"))
    }

    @Test func snapshotsCarryBlobsAndVersion3SnapshotsStillRestore() throws {
        var source = CatalogStateMachineTests.booted()
        _ = CatalogStateMachineTests.run(&source, [.putBlob(try Self.blob("x", created: 1_700_000_000_123_456)), .putBlob(try Self.blob("a"))])
        var target = CatalogStateMachine()
        try target.restore(from: source.snapshot())
        #expect(target.snapshot() == source.snapshot())
        #expect(target.stateDigest == source.stateDigest)
        #expect(target.meshBlobs() == source.meshBlobs())
        #expect(target.blob(named: "x")?.createdMicros == 1_700_000_000_123_456)

        // A version-3 snapshot is a version-4 one without the blob list.
        let plain = CatalogStateMachineTests.booted()
        var version3 = plain.snapshot()
        #expect(version3[4] == 4)
        version3[4] = 3
        version3.removeLast(4)
        var restored = CatalogStateMachine()
        try restored.restore(from: version3)
        #expect(restored.snapshot() == plain.snapshot())
    }

    @Test func timestampsRenderAsPostgreSQLText() {
        #expect(UTCTimestamp.text(microseconds: 0) == "1970-01-01 00:00:00.000000+00")
        #expect(UTCTimestamp.text(microseconds: 1_700_000_000_123_456) == "2023-11-14 22:13:20.123456+00")
        #expect(UTCTimestamp.text(microseconds: -1) == "1969-12-31 23:59:59.999999+00")
        #expect(UTCTimestamp.text(microseconds: 951_782_400_000_000) == "2000-02-29 00:00:00.000000+00")
    }
}
