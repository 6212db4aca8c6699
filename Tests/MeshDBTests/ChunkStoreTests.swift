import Foundation
import Testing
@testable import MeshDB

@Suite struct ChunkStoreTests {
    func compressible(_ count: Int) -> [UInt8] {
        let line = Array("MeshDB chunk store: repeated text compresses well under LZ4. ".utf8)
        return (0..<count).map { line[$0 % line.count] }
    }

    @Test func compressibleDataIsStoredAsLZ4AndRoundTrips() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        let plain = compressible(1 << 20)
        let put = try store.put(plain)
        #expect(put.stored && put.encoding == .lz4)
        #expect(try store.get(put.id) == plain)
        let stats = store.currentStats
        #expect(stats.chunkCount == 1 && stats.logicalBytes == plain.count)
        #expect(stats.storedBytes < plain.count / 10)
    }

    @Test func incompressibleDataIsStoredRaw() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        var random = SeededBytes(seed: 7)
        let plain = random.bytes(1 << 20)
        let put = try store.put(plain)
        #expect(put.encoding == .raw)
        #expect(store.currentStats.storedBytes == plain.count + ChunkStore.headerBytes)
        #expect(try store.get(put.id) == plain)
    }

    @Test(arguments: [0, 1, 64 << 20])
    func extremeSizesRoundTrip(bytes: Int) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededBytes(seed: UInt64(bytes) + 1)
        let plain = random.bytes(bytes)
        let id: ChunkID
        let stats: ChunkStore.Stats
        do {
            let store = try ChunkStore(directory: dir.path)
            id = try store.put(plain).id
            #expect(try store.get(id) == plain)
            stats = store.currentStats
        }
        // And again through a fresh instance that rebuilds its counts from disk.
        let reopened = try ChunkStore(directory: dir.path)
        #expect(try reopened.get(id) == plain)
        #expect(reopened.currentStats == stats)
    }

    @Test func chunkAboveTheLimitIsRefusedNamingIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path, chunkBytesMax: 1024)
        #expect(throws: ChunkStoreError.tooLarge(bytes: 1025, limit: 1024)) { try store.put([UInt8](repeating: 1, count: 1025)) }
        #expect("\(ChunkStoreError.tooLarge(bytes: 1025, limit: 1024))".contains("chunk_bytes_max = 1024"))
    }

    /// Flip one byte anywhere in the file (header, compressed payload or raw payload): the read
    /// reports corruption naming the chunk and never returns bytes.
    @Test(arguments: [(true, 2), (true, 5), (true, 9), (true, 100), (false, 16), (false, 5000)])
    func flippedByteIsReportedAsCorruptionNamingTheChunk(compressibleData: Bool, offset: Int) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        var random = SeededBytes(seed: 3)
        let plain = compressibleData ? compressible(100_000) : random.bytes(100_000)
        let id = try store.put(plain).id
        let url = URL(fileURLWithPath: store.path(of: id))
        var file = try Data(contentsOf: url)
        file[offset] ^= 0x20
        try file.write(to: url)
        #expect {
            _ = try store.get(id)
        } throws: { error in
            guard case ChunkStoreError.corrupt(let named, _) = error else { return false }
            return named == id && "\(error)".contains(id.hex)
        }
    }

    @Test func samePutTwiceIsStoredOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        let plain = compressible(10_000)
        #expect(try store.put(plain).stored)
        let stats = store.currentStats
        #expect(try !store.put(plain).stored)
        #expect(store.currentStats == stats)
    }

    @Test func hasListAndDeleteKeepCountsRight() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededBytes(seed: 11)
        let chunks = (0..<20).map { random.bytes(1000 + $0) }
        let stats: ChunkStore.Stats
        do {
            let store = try ChunkStore(directory: dir.path)
            let ids = try chunks.map { try store.put($0).id }
            #expect(try store.list() == ids.sorted())
            #expect(ids.allSatisfy(store.has))
            try store.delete(ids[3])
            #expect(!store.has(ids[3]))
            #expect(throws: ChunkStoreError.notFound(ids[3])) { try store.get(ids[3]) }
            #expect(throws: ChunkStoreError.notFound(ids[3])) { try store.delete(ids[3]) }
            stats = store.currentStats
            #expect(stats.chunkCount == 19)
            #expect(stats.logicalBytes == chunks.map(\.count).reduce(0, +) - chunks[3].count)
        }
        #expect(try ChunkStore(directory: dir.path).currentStats == stats)
    }

    /// A writer killed with SIGKILL at an arbitrary instant leaves no partial chunk visible:
    /// everything listed reads back intact, and leftover temporary files are cleared on open.
    @Test func killedWriterLeavesNoPartialChunkVisible() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for busyMilliseconds in [23, 97, 211] {
            let acknowledged = try runHarnessAndKill(["chunk-writes", dir.path, String(3 << 20)], busyMilliseconds: busyMilliseconds)
            let store = try ChunkStore(directory: dir.path)
            for hex in acknowledged {
                let id = try #require(ChunkID(hex: hex))
                #expect(try store.get(id).count == 3 << 20, "acknowledged chunk \(hex) was lost")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("tmp")).isEmpty)
            let ids = try store.list()
            #expect(!ids.isEmpty)
            for id in ids {
                let plain = try store.get(id)
                #expect(plain.count == 3 << 20)
            }
            #expect(store.currentStats.chunkCount == ids.count)
        }
    }

    @Test func chunkIDParsesOnlyWellFormedHex() {
        let id = ChunkID(of: Array("abc".utf8))
        #expect(id.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ChunkID(hex: id.hex) == id)
        #expect(ChunkID(hex: id.hex.uppercased()) == id)
        #expect(ChunkID(hex: String(id.hex.dropLast())) == nil)
        #expect(ChunkID(hex: String(id.hex.dropLast()) + "g") == nil)
    }
}
