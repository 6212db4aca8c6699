import Foundation
import Synchronization
import Testing
@testable import MeshDB
import TestSupport

/// Repair and garbage collection on an in-process 4-node cluster. The rounds are run by hand
/// (the loops' intervals are an hour), and "older than the grace period" is made by setting the
/// chunk files' modification times back, so nothing waits on the clock.
@Suite(.heavy, .serialized) struct ChunkMaintenanceTests {
    static func withCluster(_ body: (LocalCluster, BlobClient) async throws -> Void) async throws {
        var options = LocalCluster.Options(nodes: 4)
        options.runtime.replica.checkpointIntervalSequences = 8
        options.runtime.replica.logWindowSequences = 32
        options.runtime.chunkMaintenance.repairInterval = .seconds(3600)
        options.runtime.chunkMaintenance.collectionInterval = .seconds(3600)
        options.runtime.chunkMaintenance.collectionGrace = .seconds(60)
        options.readySeconds = testClusterReadySeconds
        let demo = try await LocalCluster.start(options)
        let member = demo.nodes[0].layout.members[0]
        var clientOptions = BlobClient.Options()
        // Generous: the whole suite shares the machine in CI (a 10 s timeout failed there once).
        clientOptions.requestTimeout = .seconds(30)
        do {
            let client = try await BlobClient.connect(host: member.host, port: member.port, options: clientOptions)
            do {
                try await body(demo, client)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }

    /// Sets every chunk file of `store` two hours back: older than any grace period the tests use.
    static func age(_ store: ChunkStore) throws {
        let old = Date(timeIntervalSinceNow: -7200)
        for id in try store.list() {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: store.path(of: id))
        }
    }

    /// A 2 MiB blob of seeded bytes, its first chunk and the first node holding that.
    static func storeBlob(seed: UInt64, _ demo: LocalCluster, _ client: BlobClient) async throws -> (CatalogBlob, ChunkID, MeshNode) {
        var random = SeededBytes(seed: seed)
        let (blob, _) = try await BlobClusterTests.roundTrip(client, "blob-\(seed)", random.bytes(2 << 20))
        let id = blob.root.directManifest.chunks[0].id
        return (blob, id, try #require(demo.nodes.first { $0.chunks.has(id) }))
    }

    static func holders(_ id: ChunkID, _ demo: LocalCluster, among nodes: [Int] = [0, 1, 2, 3]) -> Int {
        nodes.filter { demo.nodes[$0].chunks.has(id) }.count
    }

    @Test func unreferencedChunksGoAfterTheGracePeriodWhileReferencedAndSharedOnesStay() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 61)
            let shared = random.bytes(4 << 20)
            let first = shared + random.bytes(3 << 20)
            let second = shared + random.bytes(3 << 20)
            let (a, _) = try await BlobClusterTests.roundTrip(client, "a", first)
            let (b, _) = try await BlobClusterTests.roundTrip(client, "b", second)
            let idsA = Set(a.root.directManifest.chunks.map(\.id))
            let idsB = Set(b.root.directManifest.chunks.map(\.id))
            let onlyA = idsA.subtracting(idsB)
            #expect(!idsA.intersection(idsB).isEmpty && !onlyA.isEmpty, "4 MiB in common share chunks; 3 MiB of their own do not")
            try await client.remove(named: "a")

            // Young chunks stay even when nothing references them.
            for node in demo.nodes { try await node.chunkMaintenanceService.collectionRound() }
            #expect(onlyA.allSatisfy { Self.holders($0, demo) == 3 }, "deleted within the grace period")

            for node in demo.nodes { try Self.age(node.chunks) }
            for node in demo.nodes { try await node.chunkMaintenanceService.collectionRound() }
            for id in onlyA { #expect(Self.holders(id, demo) == 0, "chunk \(id) of the removed blob is still stored") }
            for id in idsB { #expect(Self.holders(id, demo) == 3, "chunk \(id) of the kept blob lost copies") }
            var out: [UInt8] = []
            _ = try await client.get(name: "b") { out += $0 }
            #expect(out == second)
            let collected = demo.nodes.map { $0.chunkMaintenanceService.status.collectedChunks }.reduce(0, +)
            #expect(collected == UInt64(3 * onlyA.count))
        }
    }

    /// The race of docs/blobs.md: a put that deduplicates against an old unreferenced chunk,
    /// after garbage collection listed it as a candidate and before it deletes it.
    @Test func aPutDeduplicatingAgainstAnOldUnreferencedChunkKeepsIt() throws {
        try Self.withScratchStore { store in try Self.dedupAgainstOldChunk(store) }
    }

    /// A chunk store in a fresh temporary directory, removed after `body`.
    static func withScratchStore(_ body: (ChunkStore) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "meshdb-gc-race-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(try ChunkStore(directory: directory))
    }

    static func dedupAgainstOldChunk(_ store: ChunkStore) throws {
        var random = SeededBytes(seed: 62)
        let chunk = random.bytes(100_000)
        let id = try store.put(chunk).id
        try Self.age(store)
        let cutoff = { Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000 }
        #expect(try store.chunks(modifiedBefore: cutoff()) == [id], "an old chunk is a candidate")

        // The writer deduplicates against it (its manifest will reference it), then the collector
        // reaches the candidate.
        #expect(try store.put(chunk).stored == false)
        #expect(try store.deleteIfUnused(id, modifiedBefore: cutoff()) == false)
        #expect(try store.get(id) == chunk)

        try Self.age(store)
        #expect(try store.deleteIfUnused(id, modifiedBefore: cutoff()) == true)
        #expect(!store.has(id) && store.currentStats.chunkCount == 0)
        #expect(try store.deleteIfUnused(id, modifiedBefore: cutoff()) == false, "a chunk gone already is not an error")
        // A put that found the copy intact just before the collector took it does not vouch for it:
        // the refresh under the lock fails, and the writer's retry stores it afresh.
        #expect(throws: DurableFile.Failure.self) { try store.refreshBeforeVouching(id) }
        #expect(try store.put(chunk).stored == true)
    }

    /// Finding 15 of the review: the put and the collector run at the same time, so the
    /// collector's final check can land inside a put, between its intact check and its refresh.
    /// Whatever the interleaving, a put that returns has a copy on disk afterwards: it refreshed
    /// the copy before the check (which then keeps it), or found it gone (and failed, or stored
    /// it afresh).
    @Test func aPutRacingTheCollectorNeverVouchesForADeletedCopy() throws {
        try Self.withScratchStore { store in try Self.racePutsAgainstTheCollector(store) }
    }

    static func racePutsAgainstTheCollector(_ store: ChunkStore) throws {
        var random = SeededBytes(seed: 67)
        let chunk = random.bytes(50_000)
        let id = ChunkID(of: chunk)
        let cutoff: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000 }
        var outcomes: [String: Int] = [:]
        for _ in 0..<300 {
            if !store.has(id) { _ = try store.put(chunk) }
            try Self.age(store)
            let outcome = Mutex((put: false, deleted: false))
            DispatchQueue.concurrentPerform(iterations: 2) { side in
                if side == 0 {
                    let vouched = (try? store.put(chunk)) != nil
                    outcome.withLock { $0.put = vouched }
                } else {
                    let deleted = (try? store.deleteIfUnused(id, modifiedBefore: cutoff())) ?? false
                    outcome.withLock { $0.deleted = deleted }
                }
            }
            let (vouched, deleted) = outcome.withLock { $0 }
            outcomes["put \(vouched), deleted \(deleted)", default: 0] += 1
            if vouched { #expect(store.has(id) && (try? store.get(id)) == chunk, "a put vouched for a copy the collector deleted") }
        }
        print("put/collector race outcomes: \(outcomes.sorted { $0.key < $1.key })")
    }

    /// Finding 3 of the review: a client may name a blob over chunks it never put (they were
    /// stored already, old and unreferenced). The census before the commit refreshes each copy
    /// it counts under the chunk's lock, so a collection round that listed them as candidates and
    /// computed its referenced set before the commit finds them young and keeps them; a copy the
    /// collector took first is not counted.
    @Test func aBlobNamedOverOldChunksWithoutAPutKeepsThem() async throws {
        try await Self.withCluster { demo, client in
            let (blob, _, _) = try await Self.storeBlob(seed: 63, demo, client)
            let ids = blob.root.directManifest.distinctChunkIDs
            try await client.remove(named: blob.name)
            for node in demo.nodes { try Self.age(node.chunks) }
            let cutoff = Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000
            // What a collection round lists (step 1) and finds unreferenced (step 2) now.
            let listed = try demo.nodes.map { try Set($0.chunks.chunks(modifiedBefore: cutoff)) }
            #expect(ids.allSatisfy { id in listed.filter { $0.contains(id) }.count == 3 })

            let renamed = CatalogBlob(name: "renamed", root: blob.root, createdMicros: blob.createdMicros)
            #expect(try await client.gatewayClient.send(.blobCommit(renamed)) == .done("PUT BLOB"))
            // The round goes on to delete its candidates, checking each one's age under its lock.
            for (node, candidates) in zip(demo.nodes, listed) {
                for id in candidates.sorted(by: { $0.hex < $1.hex }) { _ = try node.chunks.deleteIfUnused(id, modifiedBefore: cutoff) }
            }
            for id in ids { #expect(Self.holders(id, demo) == 3, "chunk \(id.hex) of the named blob lost copies") }
            var out: [UInt8] = []
            _ = try await client.get(name: "renamed") { out += $0 }
            #expect(out.count == Int(blob.root.totalBytes))

            // With the copies gone from all but one holder, the census refuses to name it again.
            let first = ids[0]
            for node in demo.nodes.filter({ $0.chunks.has(first) }).dropFirst() { try node.chunks.delete(first) }
            try await client.remove(named: "renamed")
            await #expect(throws: GatewayError.self) { try await client.gatewayClient.send(.blobCommit(renamed)) }
        }
    }

    /// Finding 2 of the review: a reference that moves while the reference scan runs. Copying
    /// one bytea column to another stores nothing, so the scan must see each row whole; a rekey
    /// moves rows between shards, so it refreshes their chunks before it commits.
    @Test func aReferenceMovingWhileTheScanRunsKeepsItsChunks() async throws {
        try await Self.withCluster { demo, _ in
            let session = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await session.execute("CREATE TABLE pair (id int PRIMARY KEY, a bytea, b bytea) SHARDS 1")
            var random = SeededBytes(seed: 64)
            _ = try await session.execute("INSERT INTO pair VALUES (1, NULL, $1)", parameters: [.blob(random.bytes(1 << 20))])
            let moved = Mutex(false)
            let roots = try await demo.nodes[0].gateway.referencedBlobRoots {
                // After the first shard read: the reference moves from b to a in one statement.
                guard moved.withLock({ done in defer { done = true }; return !done }) else { return }
                _ = try await session.execute("UPDATE pair SET a = b, b = NULL")
            }
            #expect(roots.count == 1, "the scan missed a reference copied between columns")

            _ = try await session.execute("CREATE TABLE loose (id int, body bytea) SHARDS 4")
            _ = try await session.execute("INSERT INTO loose VALUES (1, $1)", parameters: [.blob(random.bytes(1 << 20))])
            let scanned = try await demo.nodes[0].gateway.referencedBlobRoots()
            let ids = try #require(scanned.first { !roots.contains($0) }).directManifest.distinctChunkIDs
            for node in demo.nodes { try Self.age(node.chunks) }
            let cutoff = Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000
            _ = try await session.execute("ALTER TABLE loose ADD PRIMARY KEY (id)")
            for node in demo.nodes {
                let old = Set(try node.chunks.chunks(modifiedBefore: cutoff))
                for id in ids { #expect(!old.contains(id), "chunk \(id.hex) of a row the rekey moved was not refreshed") }
            }
        }
    }

    /// Finding 3 of the review, SQL half: a block's rows are invisible to the reference scan
    /// until COMMIT, and the puts that protected their values may be older than gc_grace by
    /// then, so COMMIT refreshes the chunks of the values the block stored.
    @Test func aTransactionBlockRefreshesTheChunksItStoredAtCommit() async throws {
        try await Self.withCluster { demo, _ in
            let session = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await session.execute("CREATE TABLE media (id int PRIMARY KEY, body bytea) SHARDS 2")
            var random = SeededBytes(seed: 66)
            _ = try await session.execute("BEGIN")
            _ = try await session.execute("INSERT INTO media VALUES (1, $1)", parameters: [.blob(random.bytes(1 << 20))])
            // Stands for a block that commits more than gc_grace after its put.
            for node in demo.nodes { try Self.age(node.chunks) }
            _ = try await session.execute("COMMIT")
            let ids = try #require(try await demo.nodes[0].gateway.referencedBlobRoots().first).directManifest.distinctChunkIDs
            let cutoff = Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000
            for node in demo.nodes {
                let old = Set(try node.chunks.chunks(modifiedBefore: cutoff))
                for id in ids { #expect(!old.contains(id), "chunk \(id.hex) of a value the block committed is still a candidate") }
            }
        }
    }

    @Test func aNodeMarkedDownHasItsCopiesRemadeOnTheOthers() async throws {
        try await Self.withCluster { demo, client in
            var random = SeededBytes(seed: 63)
            let value = random.bytes(6 << 20)
            let (blob, _) = try await BlobClusterTests.roundTrip(client, "kept", value)
            let ids = blob.root.directManifest.distinctChunkIDs
            let onVictim = ids.filter { demo.nodes[3].chunks.has($0) }
            #expect(!onVictim.isEmpty, "node 3 holds copies of some of \(ids.count) chunks")

            await demo.nodes[3].stop()
            try await demo.nodes[0].gateway.setNodeState(3, .down)
            for node in demo.nodes.prefix(3) {
                try await GatewayTests.eventually { try await node.gateway.catalog().node(index: 3)?.state == .down }
            }
            for node in demo.nodes.prefix(3) { try await node.chunkMaintenanceService.repairRound() }
            for id in ids { #expect(Self.holders(id, demo, among: [0, 1, 2]) == 3, "chunk \(id) is not back on 3 up nodes") }
            let statuses = demo.nodes.prefix(3).map(\.chunkMaintenanceService.status)
            #expect(statuses.map(\.underReplicated).reduce(0, +) == UInt64(onVictim.count))
            #expect(statuses.map(\.copiesMade).reduce(0, +) == UInt64(onVictim.count))

            // The next round finds nothing to do; the blob reads from the up nodes.
            for node in demo.nodes.prefix(3) { try await node.chunkMaintenanceService.repairRound() }
            #expect(demo.nodes.prefix(3).allSatisfy { $0.chunkMaintenanceService.status.underReplicated == 0 })
            var out: [UInt8] = []
            _ = try await client.get(name: "kept") { out += $0 }
            #expect(out == value)
        }
    }

    @Test func aLostCopyIsRemadeWhileEveryNodeIsUp() async throws {
        try await Self.withCluster { demo, client in
            let (_, id, holder) = try await Self.storeBlob(seed: 64, demo, client)
            try holder.chunks.delete(id)
            #expect(Self.holders(id, demo) == 2)
            for node in demo.nodes { try await node.chunkMaintenanceService.repairRound() }
            #expect(Self.holders(id, demo) == 3)
            #expect(demo.nodes.map(\.chunkMaintenanceService.status.copiesMade).reduce(0, +) == 1, "one node drives the chunk")
        }
    }
}

extension ChunkMaintenanceTests {
    /// Finding 4 of the review: repair only adds copies, so it works from whatever references
    /// could be read; a malformed reference stops garbage collection (which needs them all) and
    /// nothing else.
    @Test func aMalformedReferenceStopsCollectionButNotRepair() async throws {
        try await Self.withCluster { demo, client in
            let session = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await session.execute("CREATE TABLE odd (id int PRIMARY KEY, body bytea) SHARDS 2")
            _ = try await demo.nodes[1].gateway.insert(into: "odd", rows: [[.integer(1), .text("meshdb-blob:1:garbage")]])
            let scan = await demo.nodes[0].gateway.scanBlobReferences()
            #expect(scan.roots.isEmpty && scan.gaps.count == 1)

            let (_, id, holder) = try await Self.storeBlob(seed: 65, demo, client)
            try holder.chunks.delete(id)
            for node in demo.nodes { try await node.chunkMaintenanceService.repairRound() }
            #expect(Self.holders(id, demo) == 3, "repair stopped at the malformed reference")
            try Self.age(holder.chunks)
            await #expect(throws: GatewayError.self) { try await holder.chunkMaintenanceService.collectionRound() }
            #expect(Self.holders(id, demo) == 3)
        }
    }

    @Test func theScrubberDeletesADamagedCopyAndRepairReMakesIt() async throws {
        try await Self.withCluster { demo, client in
            let (blob, id, holder) = try await Self.storeBlob(seed: 65, demo, client)
            let path = holder.chunks.path(of: id)
            var damaged = try Data(contentsOf: URL(fileURLWithPath: path))
            damaged[ChunkStore.headerBytes + 10] ^= 0x5A
            try damaged.write(to: URL(fileURLWithPath: path))

            try await holder.chunkMaintenanceService.scrubPass()
            let status = holder.chunkMaintenanceService.status
            let remaining = try holder.chunks.list().count
            #expect(status.corruptCopiesDeleted == 1 && status.scrubbedChunks == UInt64(remaining + 1))
            #expect(!holder.chunks.has(id), "the damaged copy is gone")
            for node in demo.nodes { try await node.chunkMaintenanceService.repairRound() }
            #expect(Self.holders(id, demo) == 3)
            #expect(try holder.chunks.get(id).count == blob.root.directManifest.chunks[0].plainBytes, "re-made on its owner, intact")
        }
    }
}

extension ChunkMaintenanceTests {
    /// An indirect root keeps its index chunks and the data chunks its full manifest lists; when
    /// the index cannot be read, the referenced set is unknown and nothing is deleted.
    @Test func anIndexedBlobKeepsItsIndexAndDataChunksAndAnUnreadableIndexStopsCollection() async throws {
        try await Self.withCluster { demo, _ in
            let member = demo.nodes[0].layout.members[0]
            let client = try await BlobClient.connect(host: member.host, port: member.port, options: BlobClusterTests.indexedOptions())
            defer { Task { await client.close() } }
            var random = SeededBytes(seed: 66)
            let value = random.bytes(100_000)
            let (blob, _) = try await BlobClusterTests.roundTrip(client, "indexed", value)
            guard case .indirect(let indirect) = blob.root else {
                Issue.record("a value of \(blob.root.chunkCount) chunks got a direct root")
                return
            }
            let (gone, _) = try await BlobClusterTests.roundTrip(client, "gone", random.bytes(3_000))
            try await client.remove(named: "gone")
            var encoding: [UInt8] = []
            _ = try await client.transfer.get(indirect.index) { encoding += $0 }
            let kept = Set(indirect.index.chunks.map(\.id) + (try blob.root.full(from: encoding)).chunks.map(\.id))
            let goneOnly = Set(gone.root.directManifest.chunks.map(\.id)).subtracting(kept)
            #expect(!goneOnly.isEmpty)
            let before = demo.nodes.map { $0.chunks.currentStats.chunkCount }

            // The index unreadable (its chunks gone from every node): nothing is deleted.
            var saved: [(MeshNode, ChunkID, [UInt8])] = []
            for node in demo.nodes {
                for id in indirect.index.distinctChunkIDs where node.chunks.has(id) {
                    saved.append((node, id, try node.chunks.get(id)))
                    try node.chunks.delete(id)
                }
            }
            for node in demo.nodes { try Self.age(node.chunks) }
            for node in demo.nodes {
                await #expect(throws: GatewayError.self) { try await node.chunkMaintenanceService.collectionRound() }
            }
            #expect(goneOnly.allSatisfy { Self.holders($0, demo) == 3 }, "collected with the referenced set unknown")

            for (node, _, bytes) in saved { try node.chunks.put(bytes) }
            for node in demo.nodes { try Self.age(node.chunks) }
            for node in demo.nodes { try await node.chunkMaintenanceService.collectionRound() }
            #expect(goneOnly.allSatisfy { Self.holders($0, demo) == 0 })
            let after = demo.nodes.map { $0.chunks.currentStats.chunkCount }
            #expect(zip(before, after).map { $0 - $1 }.reduce(0, +) == 3 * goneOnly.count, "only the removed blob's chunks went")
            var out: [UInt8] = []
            _ = try await client.get(name: "indexed") { out += $0 }
            #expect(out == value)
        }
    }

    /// Out-of-line SQL values keep their chunks alive (`SQLBlobReferences`): an old chunk a row
    /// references survives collection and reads back; once the row is deleted, it goes.
    @Test func chunksOfAnOutOfLineSQLValueLiveAsLongAsItsRow() async throws {
        try await Self.withCluster { demo, _ in
            let session = SQLSession(gateway: demo.nodes[1].gateway)
            _ = try await session.execute("CREATE TABLE media (id int PRIMARY KEY, body bytea) SHARDS 2")
            var random = SeededBytes(seed: 63)
            let value = random.bytes(3 << 20)
            _ = try await session.execute("INSERT INTO media VALUES (1, $1)", parameters: [.blob(value)])
            let roots = try await demo.nodes[0].gateway.referencedBlobRoots()
            let ids = try #require(roots.first).directManifest.chunks.map(\.id)
            #expect(roots.count == 1 && ids.count > 1)
            // The INSERT returns at W = f + 1 acks; the third copies land in the background.
            for _ in 0..<100 where !ids.allSatisfy({ Self.holders($0, demo) == 3 }) { try await Task.sleep(for: .milliseconds(100)) }
            for id in ids { #expect(Self.holders(id, demo) == 3) }

            for node in demo.nodes { try Self.age(node.chunks) }
            for node in demo.nodes { try await node.chunkMaintenanceService.collectionRound() }
            for id in ids { #expect(Self.holders(id, demo) == 3, "chunk \(id) of a live row was collected") }
            let read = try await session.execute("SELECT body FROM media WHERE id = 1").last?.rows.first?.first
            #expect(read == .blob(value))

            _ = try await session.execute("DELETE FROM media WHERE id = 1")
            for node in demo.nodes { try await node.chunkMaintenanceService.collectionRound() }
            for id in ids { #expect(Self.holders(id, demo) == 0, "chunk \(id) of a deleted row is still stored") }
        }
    }
}

extension ChunkMaintenanceTests {
    /// A node marked down while it still runs gets no new chunks: clients place over the up nodes
    /// of `mesh_nodes`, and the census that names a blob asks only those.
    @Test func aNodeMarkedDownGetsNoNewChunks() async throws {
        try await Self.withCluster { demo, _ in
            try await demo.nodes[0].gateway.setNodeState(2, .down)
            let member = demo.nodes[0].layout.members[0]
            let client = try await BlobClient.connect(host: member.host, port: member.port)
            defer { Task { await client.close() } }
            var random = SeededBytes(seed: 67)
            let value = random.bytes(4 << 20)
            let (blob, out) = try await BlobClusterTests.roundTrip(client, "placed", value)
            #expect(out == value)
            for chunk in blob.root.directManifest.chunks {
                #expect(!demo.nodes[2].chunks.has(chunk.id), "chunk \(chunk.id) went to the down node")
                #expect(Self.holders(chunk.id, demo, among: [0, 1, 3]) == 3)
            }
            let rows = try await SQLSession(gateway: demo.nodes[0].gateway).execute("SELECT state FROM mesh_nodes WHERE node_index = 2")[0].rows
            #expect(rows == [[.text("down")]])
        }
    }
}
