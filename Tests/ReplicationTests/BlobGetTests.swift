import Crypto
import Testing
import Replication

/// The read half of the blob transfer, driven event by event as a shell would.
@Suite struct BlobGetTests {
    let nodes = (0..<4).map { RendezvousHash.Candidate(id: "n\($0)") }

    func content(_ n: Int) -> [UInt8] { Array("the bytes of chunk \(n)".utf8) }

    func get(chunks count: Int, window: Int = 8) throws -> BlobGet {
        let chunks = (0..<count).map { BlobGet.Chunk(id: Array(SHA256.hash(data: content($0))), plainBytes: content($0).count) }
        var options = BlobGet.Options()
        options.windowChunks = window
        return try BlobGet(chunks: chunks, placement: try ChunkPlacement(nodes: nodes), options: options)
    }

    static func fetches(_ actions: [BlobGet.Action]) -> [Int: String] {
        var out: [Int: String] = [:]
        for action in actions { if case .fetch(let chunk, let node) = action { out[chunk] = node } }
        return out
    }

    static func emitted(_ actions: [BlobGet.Action]) -> [Int] {
        actions.compactMap { if case .emit(let chunk, _) = $0 { chunk } else { nil } }
    }

    @Test func fetchesFromTheFirstOwnerAndEmitsInOrder() throws {
        var get = try get(chunks: 3)
        let asked = Self.fetches(get.start())
        #expect(asked.count == 3)
        for chunk in 0..<3 { #expect(asked[chunk] == get.placement.ranking(of: get.chunks[chunk].id)[0]) }
        // Replies arrive out of order; chunks leave in order.
        #expect(Self.emitted(get.received(chunk: 2, from: asked[2]!, bytes: content(2))).isEmpty)
        #expect(Self.emitted(get.received(chunk: 1, from: asked[1]!, bytes: content(1))).isEmpty)
        let last = get.received(chunk: 0, from: asked[0]!, bytes: content(0))
        #expect(Self.emitted(last) == [0, 1, 2])
        #expect(last.last == .completed)
    }

    @Test func anEmptyBlobCompletesAtOnce() throws {
        var get = try get(chunks: 0)
        #expect(get.start() == [.completed])
    }

    @Test func aCorruptReplyIsRefusedTheNextReplicaAskedAndTheBadCopyRepaired() throws {
        var get = try get(chunks: 1)
        let first = Self.fetches(get.start())[0]!
        var damaged = content(0)
        damaged[0] ^= 0xFF
        let retry = get.received(chunk: 0, from: first, bytes: damaged)
        let second = get.placement.ranking(of: get.chunks[0].id)[1]
        #expect(retry == [.fetch(chunk: 0, from: second)], "damaged bytes are never emitted")
        let done = get.received(chunk: 0, from: second, bytes: content(0))
        #expect(done == [.repair(chunk: 0, bytes: content(0), nodes: [first]), .emit(chunk: 0, bytes: content(0)), .completed])
    }

    @Test func aShortReplyIsACorruptCopyToo() throws {
        var get = try get(chunks: 1)
        let first = Self.fetches(get.start())[0]!
        #expect(Self.fetches(get.received(chunk: 0, from: first, bytes: Array(content(0).dropLast()))).count == 1)
    }

    @Test func aMissingCopyOnAnOwnerIsRepairedButNotOnAFallback() throws {
        var get = try get(chunks: 1)
        let ranking = get.placement.ranking(of: get.chunks[0].id)
        _ = get.start()
        _ = get.fetchFailed(chunk: 0, from: ranking[0], .missing)
        _ = get.fetchFailed(chunk: 0, from: ranking[1], .unreachable("timed out"))
        _ = get.fetchFailed(chunk: 0, from: ranking[2], .corrupt("content hashes to 00"))
        // The fourth node is no owner (R = 3): its lacking the chunk is no fault, but it holds one here.
        let done = get.received(chunk: 0, from: ranking[3], bytes: content(0))
        #expect(done.first == .repair(chunk: 0, bytes: content(0), nodes: [ranking[0], ranking[2]]),
                "the owner that lacked it and the one with a damaged copy; not the unreachable one")
    }

    @Test func aLostNodeMovesItsFetchesAndFailsWhenNoneIsLeft() throws {
        var get = try get(chunks: 1)
        let ranking = get.placement.ranking(of: get.chunks[0].id)
        _ = get.start()
        #expect(get.nodeFailed(ranking[0]) == [.fetch(chunk: 0, from: ranking[1])])
        _ = get.nodeFailed(ranking[2])
        #expect(get.fetchFailed(chunk: 0, from: ranking[1], .missing) == [.fetch(chunk: 0, from: ranking[3])])
        let last = get.fetchFailed(chunk: 0, from: ranking[3], .missing)
        guard case .failed(let reason)? = last.first else {
            Issue.record("expected a failure, got \(last)")
            return
        }
        #expect(reason.contains("could be read from none of 4 nodes"))
        #expect(get.received(chunk: 0, from: ranking[3], bytes: content(0)).isEmpty, "a failed get takes no more events")
    }

    @Test func theWindowBoundsChunksInFlightOrBuffered() throws {
        var get = try get(chunks: 5, window: 2)
        let asked = Self.fetches(get.start())
        #expect(asked.keys.sorted() == [0, 1])
        // Chunk 1 arrives first: it waits for chunk 0 and keeps its slot.
        #expect(Self.fetches(get.received(chunk: 1, from: asked[1]!, bytes: content(1))).isEmpty)
        let next = get.received(chunk: 0, from: asked[0]!, bytes: content(0))
        #expect(Self.emitted(next) == [0, 1])
        #expect(Self.fetches(next).keys.sorted() == [2, 3])
    }

    @Test func answersNobodyWaitsForAreIgnored() throws {
        var get = try get(chunks: 1)
        let first = Self.fetches(get.start())[0]!
        let other = nodes.map(\.id).first { $0 != first }!
        #expect(get.received(chunk: 0, from: other, bytes: content(0)).isEmpty)
        #expect(get.fetchFailed(chunk: 0, from: other, .missing).isEmpty)
    }

    @Test func aNodeThatDidNotAnswerIsAskedAgainOnTheNextPassButABadCopyIsNot() throws {
        var get = try get(chunks: 1)
        let ranking = get.placement.ranking(of: get.chunks[0].id)
        _ = get.start()
        _ = get.fetchFailed(chunk: 0, from: ranking[0], .unreachable("timed out"))
        _ = get.fetchFailed(chunk: 0, from: ranking[1], .corrupt("damaged"))
        _ = get.fetchFailed(chunk: 0, from: ranking[2], .missing)
        // The last node of the first pass times out too: the second pass asks only the first again.
        #expect(get.fetchFailed(chunk: 0, from: ranking[3], .unreachable("timed out")) == [.fetch(chunk: 0, from: ranking[0])])
        #expect(get.fetchFailed(chunk: 0, from: ranking[0], .unreachable("timed out")) == [.fetch(chunk: 0, from: ranking[3])])
        let last = get.fetchFailed(chunk: 0, from: ranking[3], .unreachable("timed out"))
        guard case .failed(let reason)? = last.first else {
            Issue.record("expected a failure after two passes, got \(last)")
            return
        }
        #expect(reason.contains("in 2 passes"))
    }
}
