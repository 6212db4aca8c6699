import Consensus
import Crypto
import Testing
import Replication

/// Seeded simulations of the blob transfer (STYLE.md §2): `BlobPut` and `BlobGet` driven through a
/// network of in-memory nodes that delivers in random order, loses requests and acks (the shell's
/// timeout), has nodes that are down and nodes that return damaged bytes. Checkers hold the
/// machines to the protocol's promises on every seed; a failure names its seed, and each seed
/// replays alike (`swift test --filter BlobTransferSimulationTests`).
@Suite struct BlobTransferSimulationTests {
    /// The simulator's generator (Consensus's xoshiro256**), with the draws these runs need.
    struct Random {
        var generator: Xoshiro256
        init(state seed: UInt64) { generator = Xoshiro256(seed: seed) }
        mutating func below(_ n: Int) -> Int { Int(generator.below(UInt64(n))) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
    }

    static let nodeIDs = (0..<5).map { "n\($0)" }

    /// One in-flight request: which attempt of which (chunk, node) it is.
    struct Delivery {
        let chunk: Int
        let node: String
        let attempt: Int
    }

    /// What a put left behind: the chunks, where they are stored, and how it ended.
    struct PutOutcome {
        var contents: [[UInt8]]
        var stored: [String: Set<Int>]
        var completed: Bool
        var down: Set<String>
    }

    static func simulatePut(seed: UInt64) -> PutOutcome {
        var random = Random(state: seed)
        let contents = (0..<(1 + random.below(24))).map { index in random.bytes(8 + random.below(40)) + [UInt8(index)] }
        let down: Set<String> = random.chance(60) ? [nodeIDs[random.below(nodeIDs.count)]] : []
        let placement = try! ChunkPlacement(replicas: 3, nodes: nodeIDs.map { RendezvousHash.Candidate(id: $0) })
        var options = BlobPut.Options(writeQuorum: 2)
        options.windowChunks = 1 + random.below(4)
        options.attemptsPerNode = 2 + random.below(2)
        var put = try! BlobPut(placement: placement, options: options)
        var stored: [String: Set<Int>] = [:]
        var pending: [Delivery] = []
        var attempts: [String: Int] = [:]
        var durable: Set<Int> = []
        var settled: Set<Int> = []
        var completed = false
        var failed = false
        var nextChunk = 0
        var inputFinished = false

        func perform(_ actions: [BlobPut.Action]) {
            for action in actions {
                switch action {
                case .send(let chunk, let node):
                    #expect(!settled.contains(chunk), "seed \(seed): a send of settled chunk \(chunk)")
                    attempts["\(chunk)/\(node)", default: 0] += 1
                    pending.append(Delivery(chunk: chunk, node: node, attempt: attempts["\(chunk)/\(node)"]!))
                case .durable(let chunk, _):
                    let holders = stored.filter { $0.value.contains(chunk) }.count
                    #expect(holders >= 2, "seed \(seed): chunk \(chunk) durable on \(holders) nodes")
                    #expect(durable.insert(chunk).inserted, "seed \(seed): chunk \(chunk) durable twice")
                case .settled(let chunk, let copies):
                    #expect(Set(copies).count == copies.count, "seed \(seed): chunk \(chunk) counts a node twice")
                    for node in copies { #expect(stored[node, default: []].contains(chunk), "seed \(seed): \(node) acked without holding \(chunk)") }
                    #expect(settled.insert(chunk).inserted, "seed \(seed): chunk \(chunk) settled twice")
                case .completed:
                    #expect(!completed, "seed \(seed): completed twice")
                    #expect(durable.count == contents.count, "seed \(seed): completed with \(durable.count) of \(contents.count) chunks durable")
                    completed = true
                case .failed:
                    failed = true
                }
            }
        }

        var steps = 0
        while !failed, !(completed && put.isSettled) {
            steps += 1
            precondition(steps < 100_000, "seed \(seed): the put makes no progress")
            while put.canAddChunk, nextChunk < contents.count {
                perform(put.addChunk(id: Array(SHA256.hash(data: contents[nextChunk]))))
                nextChunk += 1
            }
            if nextChunk == contents.count, !inputFinished {
                inputFinished = true
                perform(put.finishInput())
                continue
            }
            guard !pending.isEmpty else { break }
            let delivery = pending.remove(at: random.below(pending.count))
            guard attempts["\(delivery.chunk)/\(delivery.node)"] == delivery.attempt else { continue }
            if down.contains(delivery.node) {
                perform(put.nodeFailed(delivery.node))
            } else if random.chance(10) {
                perform(put.sendFailed(chunk: delivery.chunk, to: delivery.node, reason: "request lost (timeout)"))
            } else {
                stored[delivery.node, default: []].insert(delivery.chunk)
                if random.chance(10) {
                    perform(put.sendFailed(chunk: delivery.chunk, to: delivery.node, reason: "ack lost (timeout)"))
                } else {
                    perform(put.acked(chunk: delivery.chunk, by: delivery.node, storedBytes: contents[delivery.chunk].count))
                }
            }
        }
        #expect(completed != failed, "seed \(seed): the put neither completed nor failed (completed \(completed), failed \(failed))")
        for node in down { #expect(stored[node] == nil, "seed \(seed): a down node stored chunks") }
        return PutOutcome(contents: contents, stored: stored, completed: completed, down: down)
    }

    @Test func putsCompleteWithEveryChunkOnWriteQuorumNodesOrFail() {
        var completions = 0
        for seed in UInt64(1)...300 {
            let outcome = Self.simulatePut(seed: seed)
            guard outcome.completed else { continue }
            completions += 1
            for chunk in outcome.contents.indices {
                let holders = outcome.stored.filter { $0.value.contains(chunk) }.count
                #expect(holders >= 2, "seed \(seed): chunk \(chunk) on \(holders) nodes after completion")
            }
        }
        // With 2 or 3 attempts per node, a chunk fails only when 3 of its 4 live nodes fail
        // every attempt: about once in thousands of chunks at these fault rates.
        #expect(completions >= 295, "only \(completions) of 300 puts completed: the faults should rarely exhaust five nodes")
    }

    @Test func getsReturnTheExactBytesInOrderAroundDamagedAndDownNodes() {
        var completedGets = 0
        for seed in UInt64(1)...300 {
            let put = Self.simulatePut(seed: seed)
            guard put.completed else { continue }
            var random = Random(state: seed &* 31)
            let corrupt: Set<String> = random.chance(70) ? [Self.nodeIDs[random.below(Self.nodeIDs.count)]] : []
            var down = put.down
            if random.chance(30) { down.insert(Self.nodeIDs[random.below(Self.nodeIDs.count)]) }
            let placement = try! ChunkPlacement(replicas: 3, nodes: Self.nodeIDs.map { RendezvousHash.Candidate(id: $0) })
            let chunks = put.contents.map { BlobGet.Chunk(id: Array(SHA256.hash(data: $0)), plainBytes: $0.count) }
            var options = BlobGet.Options()
            options.windowChunks = 1 + random.below(4)
            var get = try! BlobGet(chunks: chunks, placement: placement, options: options)
            var pending: [Delivery] = []
            var attempts: [String: Int] = [:]
            var emitted: [Int] = []
            var output: [UInt8] = []
            var repaired: [Int: Set<String>] = [:]
            /// Copies the get was told are bad: damaged bytes, or an owner without the chunk.
            var badAnswers: [Int: Set<String>] = [:]
            var timeouts: [String: Int] = [:]
            var completed = false
            var failed = false

            func perform(_ actions: [BlobGet.Action]) {
                for action in actions {
                    switch action {
                    case .fetch(let chunk, let node):
                        attempts["\(chunk)/\(node)", default: 0] += 1
                        pending.append(Delivery(chunk: chunk, node: node, attempt: attempts["\(chunk)/\(node)"]!))
                        #expect(pending.map(\.chunk).max().map { $0 - (emitted.last ?? -1) <= options.windowChunks } ?? true,
                                "seed \(seed): a fetch beyond the window")
                    case .emit(let chunk, let bytes):
                        #expect(chunk == emitted.count, "seed \(seed): chunk \(chunk) emitted out of order")
                        #expect(bytes == put.contents[chunk], "seed \(seed): chunk \(chunk) emitted with other bytes")
                        emitted.append(chunk)
                        output += bytes
                    case .repair(let chunk, let bytes, let nodes):
                        #expect(bytes == put.contents[chunk], "seed \(seed): a repair of chunk \(chunk) with other bytes")
                        for node in nodes {
                            let bad = corrupt.contains(node) || !put.stored[node, default: []].contains(chunk)
                            #expect(bad, "seed \(seed): a repair of chunk \(chunk) on \(node), whose copy is good")
                            repaired[chunk, default: []].insert(node)
                        }
                    case .completed:
                        completed = true
                    case .failed:
                        failed = true
                    }
                }
            }

            perform(get.start())
            var steps = 0
            while !completed, !failed, !pending.isEmpty {
                steps += 1
                precondition(steps < 100_000, "seed \(seed): the get makes no progress")
                let delivery = pending.remove(at: random.below(pending.count))
                guard attempts["\(delivery.chunk)/\(delivery.node)"] == delivery.attempt else { continue }
                if down.contains(delivery.node) {
                    perform(get.nodeFailed(delivery.node))
                } else if random.chance(10) {
                    timeouts["\(delivery.chunk)/\(delivery.node)", default: 0] += 1
                    perform(get.fetchFailed(chunk: delivery.chunk, from: delivery.node, .unreachable("timeout")))
                } else if !put.stored[delivery.node, default: []].contains(delivery.chunk) {
                    if placement.owners(of: chunks[delivery.chunk].id).contains(delivery.node) {
                        badAnswers[delivery.chunk, default: []].insert(delivery.node)
                    }
                    perform(get.fetchFailed(chunk: delivery.chunk, from: delivery.node, .missing))
                } else if corrupt.contains(delivery.node) {
                    badAnswers[delivery.chunk, default: []].insert(delivery.node)
                    var damaged = put.contents[delivery.chunk]
                    damaged[random.below(damaged.count)] ^= 0xFF
                    perform(get.received(chunk: delivery.chunk, from: delivery.node, bytes: damaged))
                } else {
                    perform(get.received(chunk: delivery.chunk, from: delivery.node, bytes: put.contents[delivery.chunk]))
                }
            }
            #expect(completed != failed, "seed \(seed): the get neither completed nor failed")
            if completed {
                completedGets += 1
                #expect(output == put.contents.flatMap { $0 }, "seed \(seed): the value read back differs")
                // Every bad copy the get met is named for repair; a copy it never asked for is not seen.
                for chunk in badAnswers.keys.sorted() {
                    #expect(repaired[chunk] == badAnswers[chunk], "seed \(seed): chunk \(chunk) met bad copies on \(badAnswers[chunk]!.sorted()), repaired \(repaired[chunk]?.sorted() ?? [])")
                }
            } else {
                // A get may only fail when some chunk has no good copy on a live node that answered
                // in one of its passes.
                let unreadable = put.contents.indices.contains { chunk in
                    !Self.nodeIDs.contains { node in
                        !down.contains(node) && !corrupt.contains(node) && put.stored[node, default: []].contains(chunk)
                            && timeouts["\(chunk)/\(node)", default: 0] < options.passes
                    }
                }
                #expect(unreadable, "seed \(seed): the get failed although every chunk had a good live copy that answered")
            }
        }
        #expect(completedGets >= 250, "only \(completedGets) gets completed")
    }
}
