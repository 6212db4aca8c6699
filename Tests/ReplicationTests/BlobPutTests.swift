import Crypto
import Testing
import Replication

/// The write half of the blob transfer, driven event by event as a shell would.
@Suite struct BlobPutTests {
    let nodes = (0..<4).map { RendezvousHash.Candidate(id: "n\($0)") }

    func chunkID(_ n: Int) -> [UInt8] { Array(SHA256.hash(data: Array("chunk \(n)".utf8))) }

    func put(replicas: Int = 3, writeQuorum: Int = 2, window: Int = 8, attempts: Int = 2) throws -> BlobPut {
        var options = BlobPut.Options(writeQuorum: writeQuorum)
        options.windowChunks = window
        options.attemptsPerNode = attempts
        return try BlobPut(placement: try ChunkPlacement(replicas: replicas, nodes: nodes), options: options)
    }

    static func sends(_ actions: [BlobPut.Action]) -> [String] {
        actions.compactMap { if case .send(_, let node) = $0 { node } else { nil } }
    }

    @Test func sendsEachChunkToItsOwnersAndCompletesAtWriteQuorum() throws {
        var put = try put()
        let owners = put.placement.owners(of: chunkID(0))
        let sent = Self.sends(put.addChunk(id: chunkID(0)))
        #expect(sent == owners && Set(sent).count == 3, "R = 3 distinct owners, in ranking order")
        #expect(put.finishInput().isEmpty)
        #expect(put.acked(chunk: 0, by: sent[0], storedBytes: 100).isEmpty, "one ack is below W = 2")
        #expect(put.acked(chunk: 0, by: sent[1], storedBytes: 100) == [.durable(chunk: 0, storedBytes: 100), .completed])
        #expect(put.isCompleted && !put.isSettled, "the third copy is still in flight")
        #expect(put.acked(chunk: 0, by: sent[2], storedBytes: 100) == [.settled(chunk: 0, copies: sent)])
        #expect(put.isSettled)
    }

    @Test func anEmptyBlobCompletesAtOnce() throws {
        var put = try put()
        #expect(put.finishInput() == [.completed])
    }

    @Test func duplicateAndUnknownAcksAreIgnored() throws {
        var put = try put()
        let sent = Self.sends(put.addChunk(id: chunkID(0)))
        _ = put.acked(chunk: 0, by: sent[0], storedBytes: 1)
        #expect(put.acked(chunk: 0, by: sent[0], storedBytes: 1).isEmpty, "a second ack from the same node counts once")
        let outsider = nodes.map(\.id).first { !sent.contains($0) }!
        #expect(put.acked(chunk: 0, by: outsider, storedBytes: 1).isEmpty, "an ack nobody asked for counts nothing")
        #expect(put.acked(chunk: 7, by: sent[1], storedBytes: 1).isEmpty)
    }

    @Test func aLostAckIsRetriedOnTheSameNodeThenMovesToTheNextNode() throws {
        var put = try put(attempts: 2)
        let sent = Self.sends(put.addChunk(id: chunkID(0)))
        let ranking = put.placement.ranking(of: chunkID(0))
        // The shell's timeout fires for the first owner: one retry on it...
        #expect(put.sendFailed(chunk: 0, to: sent[0], reason: "timed out") == [.send(chunk: 0, to: sent[0])])
        // ...then the copy moves to the fourth node of the ranking.
        #expect(put.sendFailed(chunk: 0, to: sent[0], reason: "timed out") == [.send(chunk: 0, to: ranking[3])])
        _ = put.acked(chunk: 0, by: sent[1], storedBytes: 5)
        _ = put.acked(chunk: 0, by: sent[2], storedBytes: 5)
        #expect(put.acked(chunk: 0, by: ranking[3], storedBytes: 5) == [.settled(chunk: 0, copies: [sent[1], sent[2], ranking[3]])])
    }

    /// The put's failure says how the node was lost (the connection's error), not only "node lost".
    @Test func aLostNodesReasonReachesThePutsFailure() throws {
        var put = try put(replicas: 1, writeQuorum: 1, attempts: 1)
        let only = Self.sends(put.addChunk(id: chunkID(0)))
        for node in nodes.map(\.id) where node != only[0] { _ = put.nodeFailed(node, reason: "unused") }
        _ = put.nodeFailed(only[0], reason: "unavailable: connection to 127.0.0.1:9 closed")
        #expect(put.failure?.contains("last failure: node \(only[0]): unavailable: connection to 127.0.0.1:9 closed") == true,
                "\(put.failure ?? "no failure")")
    }

    @Test func aLostNodeFailsOverEveryChunkItHeldAndGetsNoNewOnes() throws {
        var put = try put()
        var owners: [[String]] = []
        for n in 0..<6 { owners.append(Self.sends(put.addChunk(id: chunkID(n)))) }
        let victim = "n1"
        let moved = put.nodeFailed(victim)
        let expectedMoves = owners.enumerated().filter { $0.element.contains(victim) }.count
        #expect(Self.sends(moved).count == expectedMoves)
        #expect(!Self.sends(moved).contains(victim))
        #expect(!Self.sends(put.addChunk(id: chunkID(99))).contains(victim))
    }

    @Test func failsWhenAChunkCannotReachWriteQuorum() throws {
        var put = try put(replicas: 3, writeQuorum: 3, attempts: 1)
        let sent = Self.sends(put.addChunk(id: chunkID(0)))
        _ = put.acked(chunk: 0, by: sent[0], storedBytes: 1)
        // The copy of a lost owner moves to the one node left, the fourth of the ranking...
        let fallback = Self.sends(put.nodeFailed(sent[1]))
        #expect(fallback == [put.placement.ranking(of: chunkID(0))[3]])
        // ...and with that one lost too, two of four nodes are gone: W = 3 is out of reach.
        #expect(put.nodeFailed(sent[2]).isEmpty, "the fallback is still in flight")
        let actions = put.nodeFailed(fallback[0])
        guard case .failed(let reason)? = actions.last else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(reason.contains("blob_write_quorum = 3"))
        #expect(put.failure != nil && !put.canAddChunk)
        #expect(put.acked(chunk: 0, by: sent[1], storedBytes: 1).isEmpty, "a failed put takes no more events")
    }

    @Test func underReplicatedChunksSettleWithTheCopiesTheyGot() throws {
        var put = try put(replicas: 3, writeQuorum: 2, attempts: 1)
        let sent = Self.sends(put.addChunk(id: chunkID(0)))
        _ = put.finishInput()
        _ = put.acked(chunk: 0, by: sent[0], storedBytes: 1)
        #expect(put.acked(chunk: 0, by: sent[1], storedBytes: 1) == [.durable(chunk: 0, storedBytes: 1), .completed])
        let fallback = Self.sends(put.sendFailed(chunk: 0, to: sent[2], reason: "disk full"))
        #expect(fallback.count == 1)
        #expect(put.sendFailed(chunk: 0, to: fallback[0], reason: "disk full") == [.settled(chunk: 0, copies: [sent[0], sent[1]])])
    }

    @Test func theWindowBoundsUnsettledChunks() throws {
        var put = try put(window: 2)
        let first = Self.sends(put.addChunk(id: chunkID(0)))
        _ = put.addChunk(id: chunkID(1))
        #expect(!put.canAddChunk)
        for node in first { _ = put.acked(chunk: 0, by: node, storedBytes: 1) }
        #expect(put.canAddChunk, "a settled chunk frees its slot")
    }

    @Test func refusesAWriteQuorumTheLiveNodesCannotHold() throws {
        let two = try ChunkPlacement(replicas: 3, nodes: Array(nodes.prefix(2)))
        #expect(throws: BlobTransferError.self) { try BlobPut(placement: two, options: .init(writeQuorum: 3)) }
        #expect(throws: BlobTransferError.self) { try ChunkPlacement(replicas: 3, nodes: [nodes[0], nodes[0]]) }
    }
}
