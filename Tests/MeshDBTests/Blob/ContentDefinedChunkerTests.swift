import Crypto
import Testing
@testable import MeshDB

@Suite struct ContentDefinedChunkerTests {
    /// Chunks `value` fed in buffers of `step` bytes.
    static func chunk(_ value: [UInt8], step: Int = 1 << 20, limits: ContentDefinedChunker.Limits = .standard) -> [[UInt8]] {
        var chunker = ContentDefinedChunker(limits: limits)
        var chunks: [[UInt8]] = []
        var start = 0
        while start < value.count {
            let end = min(start + step, value.count)
            chunks += chunker.feed(value[start..<end])
            start = end
        }
        if let last = chunker.finish() { chunks.append(last) }
        return chunks
    }

    @Test func boundariesDependOnlyOnContentNotOnHowItIsFed() {
        var random = SeededBytes(seed: 11)
        let value = random.bytes(6 << 20)
        let whole = Self.chunk(value, step: value.count)
        #expect(whole.count > 1)
        #expect(Self.chunk(value, step: 1 << 20) == whole)
        #expect(Self.chunk(value, step: 65_537) == whole, "buffer edges fall inside chunks and change nothing")
        #expect(whole.joined().elementsEqual(value))
    }

    @Test func theSameBytesGiveTheSameBoundariesInEveryRun() {
        // Pinned: a change to the gear table or the masks changes these, and with them dedup
        // against every chunk stored before.
        var random = SeededBytes(seed: 3)
        let sizes = Self.chunk(random.bytes(8 << 20)).map(\.count)
        #expect(sizes.reduce(0, +) == 8 << 20)
        #expect(ContentDefinedChunker.gearTable.count == 256 && Set(ContentDefinedChunker.gearTable).count == 256)
        #expect(ContentDefinedChunker.gearTable[0] == 0x4da6_b94d_cfdc_9d7f, "gear word 0 is SHA-256(\"meshdb gear 0\")[0..<8]")
        #expect(sizes == Self.pinnedSizes)
    }

    /// Chunk sizes of SeededBytes(seed: 3).bytes(8 MiB) under the standard limits, computed by an
    /// independent Python transcription of the algorithm (gear table from hashlib.sha256).
    static let pinnedSizes = [1_839_672, 988_152, 363_554, 1_283_602, 1_180_395, 1_486_520, 1_058_540, 188_173]

    @Test func aKilobyteInsertedInTheMiddleOf20MiBChangesAtMostAFewChunks() {
        var random = SeededBytes(seed: 5)
        let original = random.bytes(20 << 20)
        var edited = original
        edited.insert(contentsOf: random.bytes(1024), at: 10 << 20)
        let before = Self.chunk(original)
        let after = Self.chunk(edited)
        let beforeIDs = Set(before.map { ChunkID(of: $0) })
        let added = after.filter { !beforeIDs.contains(ChunkID(of: $0)) }
        #expect(before.count >= 10, "about 1 MiB average: \(before.count) chunks")
        #expect(added.count >= 1 && added.count <= 2, "\(added.count) new chunks")
        #expect(added.map(\.count).reduce(0, +) < 9 << 20)
    }

    @Test func minimumAndMaximumSizesHold() {
        let limits = ContentDefinedChunker.Limits(minBytes: 1024, averageBytes: 4096, maxBytes: 16_384)
        var random = SeededBytes(seed: 9)
        let chunks = Self.chunk(random.bytes(2 << 20), step: 10_000, limits: limits)
        #expect(chunks.dropLast().allSatisfy { (limits.minBytes...limits.maxBytes).contains($0.count) })
        // Equal bytes never match the mask: every boundary is forced at the maximum.
        let flat = Self.chunk([UInt8](repeating: 0, count: 100_000), step: 777, limits: limits)
        #expect(flat.dropLast().allSatisfy { $0.count == limits.maxBytes })
        #expect(flat.last?.count == 100_000 % limits.maxBytes)
    }

    @Test func chunkSizesBunchAroundTheAverage() {
        let limits = ContentDefinedChunker.Limits(minBytes: 1024, averageBytes: 8192, maxBytes: 32_768)
        var random = SeededBytes(seed: 13)
        let chunks = Self.chunk(random.bytes(8 << 20), limits: limits)
        let mean = (8 << 20) / chunks.count
        #expect(mean > 4096 && mean < 16_384, "mean chunk \(mean) bytes for an average of 8192")
    }

    @Test func zeroAndOneByteValues() {
        #expect(Self.chunk([]).isEmpty, "an empty value has no chunks")
        #expect(Self.chunk([42]) == [[42]])
        var chunker = ContentDefinedChunker()
        #expect(chunker.feed([UInt8]()).isEmpty)
        #expect(chunker.finish() == nil)
    }

    @Test func limitsThatCannotChunkAreNamed() {
        #expect(ContentDefinedChunker.Limits(minBytes: 10, averageBytes: 1000, maxBytes: 4000).problem?.contains("chunk_average_bytes") == true)
        #expect(ContentDefinedChunker.Limits(minBytes: 2048, averageBytes: 1024, maxBytes: 4096).problem?.contains("chunk_min_bytes") == true)
        #expect(ContentDefinedChunker.Limits(minBytes: 10, averageBytes: 1024, maxBytes: 1024).problem?.contains("chunk_max_bytes") == true)
        #expect(ContentDefinedChunker.Limits.standard.problem == nil)
    }

    @Test func theSplitterNamesChunksAndHashesTheWholeValue() {
        var random = SeededBytes(seed: 17)
        let value = random.bytes(3 << 20)
        var splitter = BlobSplitter()
        var pieces = splitter.feed(Array(value[..<(1 << 20)])) + splitter.feed(Array(value[(1 << 20)...]))
        let end = splitter.finish()
        if let last = end.last { pieces.append(last) }
        #expect(pieces.map(\.bytes) == Self.chunk(value))
        #expect(pieces.allSatisfy { $0.id == ChunkID(of: $0.bytes) })
        #expect(end.totalBytes == value.count)
        #expect(end.sha256 == Array(SHA256.hash(data: value)))
    }
}
