import Crypto
import Testing
@testable import MeshDB

@Suite struct BlobManifestTests {
    func manifest(chunks count: Int) throws -> BlobManifest {
        let chunks = (0..<count).map { BlobManifest.Chunk(id: ChunkID(of: [UInt8($0 & 0xFF), UInt8($0 >> 8)]), plainBytes: 1000 + $0, storedBytes: 500 + $0) }
        return try BlobManifest(totalBytes: chunks.map(\.plainBytes).reduce(0, +), sha256: Array(SHA256.hash(data: [1, 2, 3])), chunks: chunks)
    }

    @Test func roundTripsThroughItsEncoding() throws {
        for count in [1, 2, 100, BlobManifest.Limits().chunksMax] {
            let original = try manifest(chunks: count)
            let bytes = original.encoded()
            #expect(bytes.count == 49 + 40 * count)
            #expect(try BlobManifest(decoding: bytes) == original)
        }
    }

    @Test func theEmptyValueHasNoChunksAndTheHashOfNothing() throws {
        let empty = try BlobManifest(totalBytes: 0, sha256: Array(SHA256.hash(data: [UInt8]())), chunks: [])
        #expect(try BlobManifest(decoding: empty.encoded()) == empty)
        #expect(throws: BlobError.self) { try BlobManifest(totalBytes: 0, sha256: Array(repeating: 0, count: 32), chunks: []) }
    }

    @Test func theEncodingIsPinned() throws {
        let chunk = BlobManifest.Chunk(id: ChunkID(of: [7]), plainBytes: 1, storedBytes: 1)
        let manifest = try BlobManifest(totalBytes: 1, sha256: Array(SHA256.hash(data: [7])), chunks: [chunk])
        let bytes = manifest.encoded()
        #expect(Array(bytes[0..<5]) == Array("MSHB".utf8) + [1])
        #expect(Array(bytes[5..<13]) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(Array(bytes[45..<49]) == [0, 0, 0, 1])
        #expect(Array(bytes[49..<81]) == chunk.id.bytes)
        #expect(Array(bytes[81..<89]) == [0, 0, 0, 1, 0, 0, 0, 1])
    }

    @Test func storedBytesCountEachDistinctChunkOnce() throws {
        let a = BlobManifest.Chunk(id: ChunkID(of: [1]), plainBytes: 10, storedBytes: 4)
        let b = BlobManifest.Chunk(id: ChunkID(of: [2]), plainBytes: 10, storedBytes: 6)
        let manifest = try BlobManifest(totalBytes: 30, sha256: Array(repeating: 9, count: 32), chunks: [a, b, a])
        #expect(manifest.storedBytes == 10)
        #expect(manifest.distinctChunkIDs == [a.id, b.id].sorted())
    }

    @Test func malformedBytesAreRefusedNamingWhy() throws {
        let good = try manifest(chunks: 3).encoded()
        func refusal(_ bytes: [UInt8]) -> String {
            do {
                _ = try BlobManifest(decoding: bytes)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(refusal(Array(good.prefix(20))).contains("shorter than the 49-byte manifest header"))
        var magic = good
        magic[0] = 0
        #expect(refusal(magic).contains("bad magic"))
        var version = good
        version[4] = 9
        #expect(refusal(version).contains("unknown manifest format version 9"))
        #expect(refusal(good + [0]).contains("do not hold the header and 3 chunk entries"))
        var total = good
        total[12] ^= 1
        #expect(refusal(total).contains("the chunks hold"))
        var zeroChunk = good
        for offset in 81..<85 { zeroChunk[offset] = 0 }
        #expect(refusal(zeroChunk).contains("chunk 0 has 0 bytes"))
        var count = good
        count[45] = 0xFF
        #expect(refusal(count).contains("manifest_chunks_max"))
    }

    @Test func tooManyChunksAreRefusedNamingTheLimit() throws {
        var limits = BlobManifest.Limits()
        limits.chunksMax = 2
        let chunks = (0..<3).map { BlobManifest.Chunk(id: ChunkID(of: [UInt8($0)]), plainBytes: 1, storedBytes: 1) }
        #expect(throws: BlobError.limit("a blob of 3 chunks exceeds manifest_chunks_max = 2")) {
            try BlobManifest(totalBytes: 3, sha256: Array(repeating: 0, count: 32), chunks: chunks, limits: limits)
        }
    }
}
