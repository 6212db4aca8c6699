import Consensus
import Crypto
import Testing
@testable import MeshDB

/// The native protocol's chunk and blob requests: each round-trips through its encoding, and
/// oversized or malformed ones are refused naming the limit before anything is allocated.
@Suite struct ChunkRequestCodecTests {
    static let chunk = Array("chunk bytes".utf8)

    static func blob() throws -> CatalogBlob {
        let manifest = try BlobManifest(totalBytes: chunk.count, sha256: Array(SHA256.hash(data: chunk)),
                                        chunks: [BlobManifest.Chunk(id: ChunkID(of: chunk), plainBytes: chunk.count, storedBytes: 9)])
        return CatalogBlob(name: "a/b.bin", root: .direct(manifest), createdMicros: -5)
    }

    @Test func requestsRoundTrip() throws {
        let requests: [ClientRequest] = [
            .chunkPut(bytes: Self.chunk), .chunkPut(bytes: []), .chunkGet(ChunkID(of: Self.chunk)),
            .chunkHas([ChunkID(of: [1]), ChunkID(of: [2])]), .chunkHas([]), .chunkRefresh([ChunkID(of: [3])]),
            .blobCommit(try Self.blob()), .blobRemove(name: "x"), .blob(name: "y"),
            .chunkPutEncoded(EncodedChunk(plain: Self.chunk)), .chunkPutEncoded(EncodedChunk(plain: Array(repeating: 7, count: 5000))),
            .chunkPutEncoded(EncodedChunk(plain: [])), .chunkGetEncoded(ChunkID(of: Self.chunk)),
        ]
        for (id, request) in requests.enumerated() {
            let decoded = try ClientRequest.decode(request.encoded(id: UInt32(id)))
            #expect(decoded.id == UInt32(id) && decoded.request == request)
        }
    }

    @Test func responsesRoundTrip() throws {
        let responses: [ClientResponse] = [
            .chunkStored(stored: true, storedBytes: 12), .chunk(Self.chunk), .encodedChunk(EncodedChunk(plain: Array(repeating: 3, count: 900))), .presence([true, false, true]), .blob(try Self.blob()), .blob(nil),
        ]
        for response in responses {
            #expect(try ClientResponse.decode(response.encoded(id: 7)).response == response)
        }
    }

    @Test func aChunkAboveTheLimitIsRefusedNamingIt() {
        var limits = ClientRequest.Limits()
        limits.chunkBytesMax = 8
        let bytes = ClientRequest.chunkPut(bytes: Self.chunk).encoded(id: 1)
        #expect(throws: DecodeError.limitExceeded(field: "chunk (chunk_max_bytes)", count: Self.chunk.count, limit: 8)) {
            try ClientRequest.decode(bytes, limits: limits)
        }
    }

    @Test func anEncodedChunkClaimingMorePlainBytesThanTheLimitOrAnUnknownEncodingIsRefused() {
        var limits = ClientRequest.Limits()
        limits.chunkBytesMax = 4096
        let encoded = EncodedChunk(plain: Array(repeating: 1, count: 5000))
        #expect(throws: DecodeError.limitExceeded(field: "chunk (chunk_max_bytes)", count: 5000, limit: 4096)) {
            try ClientRequest.decode(ClientRequest.chunkPutEncoded(encoded).encoded(id: 1), limits: limits)
        }
        #expect(throws: DecodeError.limitExceeded(field: "chunk (chunk_max_bytes)", count: 5000, limit: 4096)) {
            try ClientResponse.decode(ClientResponse.encodedChunk(encoded).encoded(id: 1), limits: limits)
        }
        var unknown = ClientRequest.chunkPutEncoded(encoded).encoded(id: 1)
        unknown[5] = 2  // the encoding byte, after id and kind
        #expect(throws: DecodeError.unknownTag(field: "chunk encoding", tag: 2)) { try ClientRequest.decode(unknown) }
    }

    @Test func aForgedIDCountIsRefusedBeforeAllocating() {
        var bytes = ClientRequest.chunkHas([ChunkID(of: [1])]).encoded(id: 1)
        // The count (after id and kind) claims 4,096 ids; one follows.
        bytes.replaceSubrange(5..<9, with: [0x00, 0x10, 0x00, 0x00])
        #expect(throws: DecodeError.self) { try ClientRequest.decode(bytes) }
        var tooMany = ClientRequest.chunkHas([]).encoded(id: 1)
        tooMany.replaceSubrange(5..<9, with: [0x01, 0x10, 0x00, 0x00])
        #expect(throws: DecodeError.limitExceeded(field: "chunk ids (chunk_ids_per_request_max)", count: 4097, limit: 4096)) {
            try ClientRequest.decode(tooMany)
        }
    }

    @Test func aTruncatedChunkIDIsRefused() {
        let bytes = ClientRequest.chunkGet(ChunkID(of: [1])).encoded(id: 1)
        #expect(throws: DecodeError.self) { try ClientRequest.decode(Array(bytes.dropLast())) }
    }
}

extension ChunkRequestCodecTests {
    /// Kind 11 was `chunkDelete`, which let any client delete any chunk; nodes now collect their
    /// own garbage and the kind is refused like any unknown one.
    @Test func aChunkDeleteFromAClientDoesNotDecode() {
        let request: [UInt8] = [0, 0, 0, 7, 11] + ChunkID(of: [3]).bytes
        #expect(throws: DecodeError.unknownTag(field: "request kind", tag: 11)) { _ = try ClientRequest.decode(request) }
    }
}

extension ChunkRequestCodecTests {
    /// `meshdb status` carries each node's chunk counters: every field round-trips, none is
    /// dropped or swapped with its neighbour (each has a distinct value).
    @Test func aStatusWithChunkCountersRoundTrips() throws {
        var chunks = ChunkStatus()
        chunks.chunkCount = 1
        chunks.storedBytes = 2
        chunks.repairRounds = 3
        chunks.drivenChunks = 4
        chunks.underReplicated = 5
        chunks.lostChunks = 6
        chunks.pendingCopies = 7
        chunks.copiesMade = 8
        chunks.copiesFailed = 9
        chunks.lastRepairMicros = -10
        chunks.collectedChunks = 11
        chunks.lastCollectionMicros = 12
        chunks.scrubbedChunks = 13
        chunks.corruptCopiesDeleted = 14
        let group = NodeRuntime.GroupStatus(group: 1, replicaIndex: 2, view: 3, primaryNode: 0, inViewChange: false,
                                            lastExecuted: 40, stableCheckpoint: 32)
        let status = ClientResponse.status(NodeStatus(node: 2, groups: [group], chunks: chunks))
        #expect(try ClientResponse.decode(status.encoded(id: 9)).response == status)
    }
}
