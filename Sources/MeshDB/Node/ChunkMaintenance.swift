import Dispatch
import Foundation
import Logging
public import Replication
import Synchronization

/// A node's background care of the blob chunks (docs/blobs.md, "Repair", "Scrubbing" and
/// "Garbage collection"): every repair_interval it re-makes the missing copies of the chunks it
/// drives (`RepairPlanner`), every gc_interval it deletes the chunks of its own store that no
/// blob references and nobody touched for gc_grace, every scrub_pass_interval it reads and
/// hashes its own copies. Each round re-plans from the catalog and the disks; what it keeps
/// between rounds (the census cursor, full manifests already read, the counters) only saves
/// work, so a restart loses none.
public final class ChunkMaintenance: Sendable {
    public struct Options: Sendable, Hashable {
        /// repair_interval: time between the starts of two repair rounds.
        public var repairInterval = Duration.seconds(10)
        /// R: the copies repair restores (blob_replicas).
        public var replicas = ChunkPlacement.defaultReplicas
        public var repair = RepairPlanner.Options()
        /// gc_interval: time between two garbage-collection rounds.
        public var collectionInterval = Duration.seconds(300)
        /// gc_grace: a chunk is deleted only when no blob references it and its file was not
        /// written or deduplicated against for this long. It bounds how long a writer may take
        /// between its last chunk put and naming the blob (the put refreshes the time).
        public var collectionGrace = Duration.seconds(3600)
        /// repair_reference_rescan_interval: a repair round reuses the roots of a reference scan
        /// (repair's or collection's) younger than this, since the scan reads every bytea column
        /// of every table; garbage collection always scans afresh.
        public var referenceRescanInterval = Duration.seconds(60)
        /// gc_deletes_per_round_max: chunks one round deletes at most; the rest wait for the next.
        public var collectionDeletesPerRoundMax = 10_000
        /// scrub_pass_interval: time between the starts of two scrub passes over the local chunks.
        public var scrubPassInterval = Duration.seconds(24 * 3600)
        /// scrub_bytes_per_second: how fast a pass reads (plain bytes), so that it never competes
        /// with reads and writes for the disk.
        public var scrubBytesPerSecond = 8 << 20

        public init() {}
    }

    let gateway: Gateway
    let census: ChunkCensus
    let local: ChunkStore
    let localID: String
    let options: Options
    let sources: [any BlobReferenceSource]
    let limits: ClientRequest.Limits
    let logger: Logger
    /// Wall clock in nanoseconds since the Unix epoch: file modification times are on it. The only
    /// clock the rounds read, injected like every clock (the tests set file times back instead).
    let now: @Sendable () -> Int64
    private let state = Mutex(ChunkStatus())
    /// Where the next repair round's census window starts in the sorted list of driven chunks
    /// (`RepairPlanner.window`); a restart starts over, which only re-checks.
    private let censusCursor = Mutex(0)
    /// Full manifests' encodings by their index's SHA-256 (`referencedChunks`).
    private let fullManifests = Mutex<[[UInt8]: [UInt8]]>([:])
    /// The last reference scan's roots and when it started (`now()`), for repair rounds
    /// (`referenceRescanInterval`).
    private let lastScan = Mutex<(roots: [BlobRoot], startedNanoseconds: Int64)?>(nil)
    /// Disk work (reads, fsynced puts, unlinks) runs here, off the cooperative pool.
    private let queue: DispatchQueue

    init(gateway: Gateway, census: ChunkCensus, local: ChunkStore, nodeIndex: Int, options: Options,
         sources: [any BlobReferenceSource], limits: ClientRequest.Limits, logger: Logger,
         now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) }) {
        self.gateway = gateway
        self.census = census
        self.local = local
        localID = String(nodeIndex)
        self.options = options
        self.sources = sources
        self.limits = limits
        self.logger = logger
        self.now = now
        queue = DispatchQueue(label: "meshdb.node.\(nodeIndex).chunk-maintenance")
    }

    /// The repair, collection and scrub loops; cancel the tasks to stop them. The first
    /// collection waits gc_grace as well: a node back from an outage deletes nothing until its
    /// catalog replica has had that long to learn the blobs named while it was away.
    func start() -> [Task<Void, Never>] {
        [loop(every: options.repairInterval) { try await $0.repairRound() },
         loop(every: options.collectionInterval, firstAfter: max(options.collectionInterval, options.collectionGrace)) {
             try await $0.collectionRound()
         },
         loop(every: options.scrubPassInterval) { try await $0.scrubPass() }]
    }

    private func loop(every interval: Duration, firstAfter first: Duration? = nil,
                      _ round: @escaping @Sendable (ChunkMaintenance) async throws -> Void) -> Task<Void, Never> {
        Task { [weak self] in
            var wait = first ?? interval
            while !Task.isCancelled {
                try? await Task.sleep(for: wait)
                wait = interval
                guard let self, !Task.isCancelled else { return }
                do {
                    try await round(self)
                } catch {
                    logger.info("chunk maintenance round: \(error)")
                }
            }
        }
    }

    /// Chunks held and what the last rounds did, for `meshdb status`.
    var status: ChunkStatus {
        let stats = local.currentStats
        var status = state.withLock { $0 }
        status.chunkCount = UInt64(stats.chunkCount)
        status.storedBytes = UInt64(stats.storedBytes)
        return status
    }

    // MARK: Repair

    /// One round: the chunks this node drives (first in their ranking over the up nodes), a
    /// census of their holders, the planner's copies, made one by one.
    func repairRound() async throws {
        let catalog = try await gateway.catalog()
        let members = MemberConnections.members(of: catalog)
        try await withConnections(to: members) { connections in
            try await repairRound(members: members, connections: connections)
        }
    }

    private func repairRound(members: [NodeConnections.Member], connections: NodeConnections) async throws {
        let transfer = ChunkTransfer(nodes: connections)
        let planner = try RepairPlanner(placement: try ChunkPlacement(replicas: options.replicas, nodes: transfer.placement().nodes),
                                        options: options.repair)
        let referenced = await referencedChunks(of: try await rootsForRepair(), transfer: transfer)
        let allDriven = planner.chunks(drivenBy: localID, among: referenced.ids.map(\.bytes)).compactMap(ChunkID.init(bytes:))
        let (driven, next) = planner.window(of: allDriven, from: censusCursor.withLock { $0 })
        censusCursor.withLock { $0 = next }
        let found = await census.holders(of: driven, members: members, connections: connections, limits: limits)
        let plan = planner.plan(zip(driven, found.holders).map { RepairPlanner.Census(chunk: $0.bytes, holders: $1) },
                                answered: found.answered)
        var made = 0
        var failed = 0
        for copy in plan.copies {
            try Task.checkCancellation()
            if await make(copy, connections: connections) { made += 1 } else { failed += 1 }
        }
        if !plan.lost.isEmpty {
            logger.warning("chunk repair: \(plan.lost.count) chunks have no holder among the up nodes that answered, e.g. \(ChunkID(bytes: plan.lost[0])?.hex ?? "?")")
        }
        let finished = now() / 1_000
        state.withLock {
            $0.repairRounds += 1
            $0.drivenChunks = UInt64(allDriven.count)
            $0.underReplicated = UInt64(plan.underReplicated)
            $0.lostChunks = UInt64(plan.lost.count)
            $0.pendingCopies = UInt64(plan.deferredCopies + plan.awaitingAnswer + failed)
            $0.copiesMade += UInt64(made)
            $0.copiesFailed += UInt64(failed)
            $0.lastRepairMicros = finished
        }
    }

    /// Reads the chunk from the first source whose bytes hash to its id and puts it on the
    /// target (which reads and hashes any copy it has before vouching for it).
    private func make(_ copy: RepairPlanner.Copy, connections: NodeConnections) async -> Bool {
        guard let id = ChunkID(bytes: copy.chunk) else { return false }
        var bytes: [UInt8]?
        for source in copy.sources where bytes == nil {
            if source == localID {
                bytes = try? await onQueue { [local] in try local.get(id) }
            } else if case .response(.chunk(let fetched)) = await connections.answer(.chunkGet(id), from: source), ChunkID(of: fetched) == id {
                bytes = fetched
            }
        }
        guard let bytes else { return false }
        if copy.target == localID {
            return (try? await onQueue { [local] in try local.put(bytes) }) != nil
        }
        if case .response(.chunkStored) = await connections.answer(.chunkPut(bytes: bytes), from: copy.target) { return true }
        return false
    }

    // MARK: Garbage collection

    /// One round: list the chunks untouched for gc_grace, then (after listing) every chunk the
    /// roots reference, then delete the unreferenced candidates, each after checking its age
    /// again under the chunk's lock. The order is the argument that a put deduplicating against
    /// a candidate never loses it (docs/blobs.md).
    func collectionRound() async throws {
        // One cutoff for the whole round, fixed when the candidates are listed: a chunk refreshed
        // after the listing is kept however long the scan below takes, so the only time bound
        // left is that a reference commits within gc_grace of its chunks' refresh.
        let cutoff = now() - Self.nanoseconds(options.collectionGrace)
        let candidates = try await onQueue { [local] in try local.chunks(modifiedBefore: cutoff) }
        guard !candidates.isEmpty else { return finishCollection(deleted: 0) }
        // Step 2 after step 1: a fresh scan, complete or nothing is deleted.
        let roots = try await scanRoots(started: now(), complete: true)
        let catalog = try await gateway.catalog()
        let referenced = try await withConnections(to: MemberConnections.members(of: catalog)) { connections in
            await referencedChunks(of: roots, transfer: ChunkTransfer(nodes: connections))
        }
        guard referenced.unreadableIndexes.isEmpty else {
            throw GatewayError(sqlState: "55000", message:
                "garbage collection skipped: the index of \(referenced.unreadableIndexes.count) blobs could not be read (\(referenced.unreadableIndexes[0]))")
        }
        let keep = Set(referenced.ids)
        let unreferenced = candidates.filter { !keep.contains($0) }.prefix(options.collectionDeletesPerRoundMax)
        let deleted = try await onQueue { [local] in
            var deleted = 0
            for id in unreferenced where try local.deleteIfUnused(id, modifiedBefore: cutoff) { deleted += 1 }
            return deleted
        }
        if deleted > 0 { logger.info("garbage collection deleted \(deleted) unreferenced chunks") }
        finishCollection(deleted: deleted)
    }

    private func finishCollection(deleted: Int) {
        let finished = now() / 1_000
        state.withLock {
            $0.collectedChunks += UInt64(deleted)
            $0.lastCollectionMicros = finished
        }
    }

    // MARK: Scrubbing

    /// One pass over the local chunks in name order: reads and hashes each (at most
    /// scrub_bytes_per_second), and deletes a damaged copy, so the chunk counts as missing and
    /// the repair round of its driver re-makes it from a good copy.
    func scrubPass() async throws {
        let ids = try await onQueue { [local] in try local.list() }
        for id in ids {
            try Task.checkCancellation()
            let started = ContinuousClock.now
            let outcome = try await onQueue { [local] () throws -> (bytes: Int, corrupt: Bool) in
                do throws(ChunkStoreError) {
                    return (try local.get(id).count, false)
                } catch {
                    switch error {
                    case .corrupt: return (0, try local.deleteIfCorrupt(id))
                    // Gone since the listing, or a header claiming more than chunk_bytes_max (left
                    // for a read to report): on to the next chunk.
                    case .notFound, .tooLarge: return (0, false)
                    // Only an incoming encoded chunk is malformed; a stored copy that does not
                    // decode reads as corrupt.
                    case .io, .inUse, .malformed: throw error
                    }
                }
            }
            state.withLock {
                $0.scrubbedChunks += 1
                if outcome.corrupt { $0.corruptCopiesDeleted += 1 }
            }
            if outcome.corrupt { logger.warning("scrub: deleted the damaged copy of chunk \(id.hex); repair re-makes it") }
            let budget = Duration.seconds(Double(outcome.bytes) / Double(max(1, options.scrubBytesPerSecond)))
            let spent = ContinuousClock.now - started
            if spent < budget { try await Task.sleep(for: budget - spent) }
        }
    }

    // MARK: Shared

    /// Runs `body` over connections opened on first use and closed after it: a round every few
    /// seconds needs no pool, and a round with nothing to ask opens none.
    private func withConnections<T: Sendable>(to members: [NodeConnections.Member],
                                              _ body: (NodeConnections) async throws -> T) async throws -> T {
        let connections = NodeConnections(members: members, requestTimeout: ChunkCensus.requestTimeout)
        do {
            let result = try await body(connections)
            await connections.close()
            return result
        } catch {
            await connections.close()
            throw error
        }
    }

    /// The roots every source lists, scanned now when `complete` (55000 naming the first gap
    /// if some part could not be read) or else whatever could be read (gaps logged). Either way
    /// the roots are kept for the repair rounds that follow.
    private func scanRoots(started: Int64, complete: Bool) async throws -> [BlobRoot] {
        var roots: [BlobRoot] = []
        var gaps: [String] = []
        for source in sources {
            let scan = await source.referencedRoots()
            roots += scan.roots
            gaps += scan.gaps
        }
        if let gap = gaps.first {
            if complete {
                throw GatewayError(sqlState: "55000", message:
                    "garbage collection skipped: \(gaps.count) parts of the blob references could not be read, e.g. \(gap)")
            }
            logger.info("chunk repair works from the references it could read: \(gaps.count) parts could not be, e.g. \(gap)")
        }
        lastScan.withLock { $0 = (roots, started) }
        return roots
    }

    /// Repair is additive: it works from the last scan while that is younger than
    /// repair_reference_rescan_interval, else from a new one, with or without gaps.
    private func rootsForRepair() async throws -> [BlobRoot] {
        let started = now()
        if let last = lastScan.withLock({ $0 }), started - last.startedNanoseconds < Self.nanoseconds(options.referenceRescanInterval) {
            return last.roots
        }
        return try await scanRoots(started: started, complete: false)
    }

    /// The chunks `roots` reference. Full manifests read through an index are kept between
    /// rounds, by the index's SHA-256 (the hash of the full manifest's encoding, so a hit is the
    /// same manifest), for the roots still referenced: a round does not fetch every large blob's
    /// index again.
    private func referencedChunks(of roots: [BlobRoot], transfer: ChunkTransfer) async -> ReferencedChunks {
        let referenced = await ReferencedChunks.of(roots) { index in
            if let known = self.fullManifests.withLock({ $0[index.sha256] }) { return known }
            var encoding: [UInt8] = []
            _ = try await transfer.get(index) { encoding += $0 }
            self.fullManifests.withLock { $0[index.sha256] = encoding }
            return encoding
        }
        let live = Set(roots.compactMap { root -> [UInt8]? in if case .indirect(let indirect) = root { indirect.index.sha256 } else { nil } })
        fullManifests.withLock { cache in cache = cache.filter { live.contains($0.key) } }
        return referenced
    }

    /// `duration` on the wall clock's scale (`now()`).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// One node's chunks and the work its maintenance did, as `meshdb status` shows it. Counters
/// are since the node started; the rest is as of the last round.
public struct ChunkStatus: Sendable, Hashable {
    /// Chunk copies in the node's store.
    public var chunkCount: UInt64 = 0
    /// Bytes of the chunk files, headers included.
    public var storedBytes: UInt64 = 0
    public var repairRounds: UInt64 = 0
    /// Chunks this node drives (it is first in their ranking over the up nodes), as of the last
    /// repair round; a round checks repair_census_chunks_per_round_max of them.
    public var drivenChunks: UInt64 = 0
    /// Of those the last round checked, the ones with fewer than R up holders.
    public var underReplicated: UInt64 = 0
    /// Of those, the ones no up node held.
    public var lostChunks: UInt64 = 0
    /// Copies the last round left for later: over the per-round limit, failed, or waiting for an
    /// up node that did not answer (it may hold them; `meshdb node down` lets them be made).
    public var pendingCopies: UInt64 = 0
    public var copiesMade: UInt64 = 0
    public var copiesFailed: UInt64 = 0
    /// When the last repair round ended, microseconds since the Unix epoch; 0 for never.
    public var lastRepairMicros: Int64 = 0
    public var collectedChunks: UInt64 = 0
    public var lastCollectionMicros: Int64 = 0
    /// Local copies the scrubber read and hashed.
    public var scrubbedChunks: UInt64 = 0
    /// Damaged local copies the scrubber found and deleted (repair re-makes them).
    public var corruptCopiesDeleted: UInt64 = 0

    public init() {}
}
