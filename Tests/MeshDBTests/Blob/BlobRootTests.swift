import Crypto
import Testing
@testable import MeshDB

@Suite struct BlobRootTests {
    /// A manifest of `count` one-byte chunks.
    static func full(chunks count: Int) throws -> BlobManifest {
        let chunks = (0..<count).map { BlobManifest.Chunk(id: ChunkID(of: [UInt8($0 & 0xFF), UInt8($0 >> 8)]), plainBytes: 2, storedBytes: 2) }
        return try BlobManifest(totalBytes: 2 * count, sha256: Array(SHA256.hash(data: [9])), chunks: chunks,
                                limits: BlobRoot.Limits().full)
    }

    /// The manifest of `full`'s encoding, as one chunk.
    static func index(of full: BlobManifest) throws -> BlobManifest {
        let encoding = full.encoded()
        return try BlobManifest(totalBytes: encoding.count, sha256: Array(SHA256.hash(data: encoding)),
                                chunks: [BlobManifest.Chunk(id: ChunkID(of: encoding), plainBytes: encoding.count, storedBytes: encoding.count)])
    }

    @Test func anIndirectRootRoundTripsAndSummarizesItsValue() throws {
        let full = try Self.full(chunks: 2_000)
        let root = try BlobRoot(full: full, index: try Self.index(of: full))
        let bytes = root.encoded()
        #expect(bytes[4] == 2 && bytes.count == 57 + 49 + 40)
        #expect(try BlobRoot(decoding: bytes) == root)
        #expect(root.totalBytes == 4_000 && root.chunkCount == 2_000 && root.storedBytes == 4_000 && root.sha256 == full.sha256)
        #expect(try root.full(from: full.encoded()) == full)
    }

    @Test func versionOneBytesAreADirectRoot() throws {
        let manifest = try Self.full(chunks: 3)
        #expect(try BlobRoot(decoding: manifest.encoded()) == .direct(manifest))
        #expect(BlobRoot.direct(manifest).encoded() == manifest.encoded())
    }

    @Test func anIndexOfOtherBytesIsRefused() throws {
        let full = try Self.full(chunks: 10)
        let other = try Self.index(of: try Self.full(chunks: 11))
        #expect(throws: BlobError.self) { try BlobRoot(full: full, index: other) }
        // Bytes whose index does not describe a manifest of the root's chunk count.
        var forged = try BlobRoot(full: full, index: try Self.index(of: full)).encoded()
        forged.replaceSubrange(45..<49, with: [0, 0, 0, 12])
        #expect(throws: BlobError.self) { try BlobRoot(decoding: forged) }
        // A full manifest read through the index that is not the root's value.
        let root = try BlobRoot(full: full, index: try Self.index(of: full))
        var otherValue = try Self.full(chunks: 10).chunks
        otherValue[0] = BlobManifest.Chunk(id: ChunkID(of: [7, 7]), plainBytes: 2, storedBytes: 2)
        let impostor = try BlobManifest(totalBytes: 20, sha256: Array(SHA256.hash(data: [8])), chunks: otherValue)
        #expect(throws: BlobError.self) { try root.full(from: impostor.encoded()) }
    }

    @Test func countsOutsideTheLimitsAreNamed() throws {
        var limits = BlobRoot.Limits()
        limits.indexedChunksMax = 5
        let full = try Self.full(chunks: 6)
        #expect(throws: BlobError.limit("a blob of 6 chunks exceeds indexed_chunks_max = 5")) {
            try BlobRoot(full: full, index: try Self.index(of: full), limits: limits)
        }
        var zero = try BlobRoot(full: full, index: try Self.index(of: full)).encoded()
        zero.replaceSubrange(45..<49, with: [0, 0, 0, 0])
        #expect(throws: BlobError.self) { try BlobRoot(decoding: zero) }
    }
}
