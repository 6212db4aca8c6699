import Foundation
import Synchronization
import Testing
@testable import MeshDB

/// Chunks encoded once by the writer (`EncodedChunk`): a node stores the payload as it came only
/// after decoding it and checking what it hashes to, refuses payloads that do not give their
/// plain bytes, and hands the stored copy back without decoding it (the reader checks).
@Suite struct EncodedChunkTests {
    static func compressible(_ count: Int) -> [UInt8] {
        let line = Array("an encoded chunk crosses the network once compressed. ".utf8)
        return (0..<count).map { line[$0 % line.count] }
    }

    @Test func theWritersEncodingIsStoredAsItCameAndReadsBackPlain() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        var random = SeededBytes(seed: 5)
        let cases: [(plain: [UInt8], encoding: ChunkStore.Encoding)] = [
            (Self.compressible(300_000), .lz4), (random.bytes(300_000), .raw), ([], .raw),
        ]
        for (plain, encoding) in cases {
            let encoded = EncodedChunk(plain: plain)
            #expect(encoded.encoding == encoding && encoded.plainBytes == plain.count)
            let put = try store.put(encoded)
            #expect(put.stored && put.id == ChunkID(of: plain) && put.storedBytes == encoded.payload.count)
            let file = try Data(contentsOf: URL(fileURLWithPath: store.path(of: put.id)))
            #expect(Array(file.dropFirst(ChunkStore.headerBytes)) == encoded.payload, "the payload is stored byte for byte")
            #expect(try store.stored(put.id) == encoded)
            #expect(try store.get(put.id) == plain)
            // The same content put plain afterwards is a dedup of this copy.
            #expect(try !store.put(plain).stored)
        }
    }

    @Test func payloadsThatDoNotGiveTheirPlainBytesAreRefusedAndNothingIsWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        let plain = Self.compressible(100_000)
        let good = EncodedChunk(plain: plain)
        #expect(good.encoding == .lz4)
        let forged: [EncodedChunk] = [
            EncodedChunk(unchecked: .raw, plainBytes: plain.count + 1, payload: plain),
            EncodedChunk(unchecked: .lz4, plainBytes: plain.count - 1, payload: good.payload),
            EncodedChunk(unchecked: .lz4, plainBytes: plain.count, payload: Array(good.payload.dropLast(3))),
            // Decodes, but is not smaller than what it gives: a stored copy must be, to tell it from damage.
            EncodedChunk(unchecked: .lz4, plainBytes: 10, payload: EncodedChunk(plain: Self.compressible(10)).payload),
            EncodedChunk(unchecked: .lz4, plainBytes: 0, payload: []),
        ]
        for chunk in forged {
            #expect(throws: ChunkStoreError.self) { try store.put(chunk) }
        }
        #expect(store.currentStats == ChunkStore.Stats())
        #expect(try store.list().isEmpty)
        #expect(throws: ChunkStoreError.tooLarge(bytes: 65 << 20, limit: 64 << 20)) {
            try store.put(EncodedChunk(unchecked: .lz4, plainBytes: 65 << 20, payload: good.payload))
        }
        // A client sees the refusal as invalid_binary_representation.
        do {
            try store.put(EncodedChunk(unchecked: .lz4, plainBytes: plain.count - 1, payload: good.payload))
            Issue.record("a payload that does not decode to its plain bytes was stored")
        } catch {
            #expect(ClientService.gatewayError(error).sqlState == "22P03")
        }
    }

    @Test func aDamagedCopyIsHandedBackAsStoredAndGetCallsItCorrupt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ChunkStore(directory: dir.path)
        var random = SeededBytes(seed: 9)
        let plain = random.bytes(50_000)
        let id = try store.put(EncodedChunk(plain: plain)).id
        let path = store.path(of: id)
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        file[ChunkStore.headerBytes + 100] ^= 0xFF
        try file.write(to: URL(fileURLWithPath: path))
        // Same size, other bytes: only a hash tells, which is the reader's job for `stored`.
        let copy = try store.stored(id)
        #expect(copy.payload.count == plain.count && copy.payload != plain)
        #expect(throws: ChunkStoreError.self) { try store.get(id) }
        // A truncated copy fails the size check before any reader sees it.
        try Data(file.prefix(ChunkStore.headerBytes + 10)).write(to: URL(fileURLWithPath: path))
        #expect(throws: ChunkStoreError.corrupt(id, reason: "raw payload is 10 bytes, header says 50000")) { try store.stored(id) }
        #expect(throws: ChunkStoreError.notFound(ChunkID(of: [1]))) { try store.stored(ChunkID(of: [1])) }
    }

    @Test func asyncSlotsAdmitAtMostTheirCountAndEveryoneInTurn() async {
        final class Counts: Sendable {
            let state = Mutex((now: 0, peak: 0, done: 0))
        }
        let slots = AsyncSlots(count: 3)
        let counts = Counts()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    await slots.acquire()
                    counts.state.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                    try? await Task.sleep(for: .milliseconds(2))
                    counts.state.withLock { $0.now -= 1; $0.done += 1 }
                    slots.release()
                }
            }
        }
        let final = counts.state.withLock { $0 }
        #expect(final.done == 24 && final.now == 0)
        #expect(final.peak == 3, "at most 3 at once, and the limit is reached with 24 waiting")
    }
}
