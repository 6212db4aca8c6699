import Foundation
import Testing
@testable import MeshDB

/// Regression tests for the storage review of 2026-11-21.
@Suite struct ChunkStoreRegressionTests {
    @Test func aSecondInstanceOnTheSameDirectoryIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try ChunkStore(directory: dir.path)
        #expect(throws: ChunkStoreError.inUse(dir.path)) { try ChunkStore(directory: dir.path) }
        _ = first
    }

    @Test func strayFilesInTheChunkTreeAreIgnored() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let id: ChunkID
        do {
            let store = try ChunkStore(directory: dir.path)
            id = try store.put(Array("hello".utf8)).id
        }
        try Data().write(to: URL(fileURLWithPath: dir.file("chunks/.DS_Store")))
        try Data().write(to: URL(fileURLWithPath: dir.file("chunks/\(id.hex.prefix(2))/notes.txt")))
        let reopened = try ChunkStore(directory: dir.path)
        #expect(try reopened.list() == [id])
        #expect(reopened.currentStats.chunkCount == 1)
    }

    @Test func aStoreCreatesMissingParentDirectories() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.file("a/b/c"))
        #expect(try store.get(store.put([1, 2, 3]).id) == [1, 2, 3])
    }

    @Test func aChunkAboveThisStoresLimitIsReportedAsTooLargeNotCorrupt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededBytes(seed: 1)
        let id: ChunkID
        do { id = try ChunkStore(directory: dir.path).put(random.bytes(4096)).id }
        let small = try ChunkStore(directory: dir.path, chunkBytesMax: 1024)
        #expect(throws: ChunkStoreError.tooLarge(bytes: 4096, limit: 1024)) { try small.get(id) }
    }

    @Test func aDamagedCopyIsReplacedByTheNextPutOfItsContent() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededBytes(seed: 2)
        let plain = random.bytes(10_000)
        do {
            let store = try ChunkStore(directory: dir.path)
            let id = try store.put(plain).id
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.path(of: id)))
            try handle.truncate(atOffset: 100)
            try handle.close()
            #expect(throws: ChunkStoreError.self) { try store.get(id) }
            #expect(try store.put(plain).stored, "a truncated copy does not count as stored")
            #expect(try store.get(id) == plain)
        }
        // Counts made while a file was damaged behind the store's back are rebuilt exactly on open.
        #expect(try ChunkStore(directory: dir.path).currentStats.storedBytes == 10_000 + ChunkStore.headerBytes)
    }

    @Test func concurrentPutsOfTheSameChunksCountEachOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        var random = SeededBytes(seed: 3)
        let chunks = (0..<40).map { random.bytes(2000 + $0) }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for chunk in chunks.shuffled() { _ = try? store.put(chunk) }
            _ = worker
        }
        #expect(store.currentStats.chunkCount == 40)
        #expect(store.currentStats.logicalBytes == chunks.map(\.count).reduce(0, +))
        #expect(try store.list().count == 40)
        for chunk in chunks { #expect(try store.get(ChunkID(of: chunk)) == chunk) }
    }

    @Test func headerWithNonZeroReservedBytesSaysSo() throws {
        var header = ChunkStore.header(encoding: .raw, plainBytes: 3)
        header[6] = 1
        #expect { try ChunkStore.parseHeader(header) } throws: { ($0 as? ChunkStore.HeaderError)?.reason.contains("reserved") == true }
    }
}
