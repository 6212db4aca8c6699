/// What one node spends, in nanoseconds, on the work the scale simulation charges it for. A node
/// is modelled as `NodeRuntime` is built: one serial queue that runs every replica step of every
/// group the node belongs to, the group-commit fsync of the PBFT logs, and the shard's SQLite
/// commit inside execution (DESIGN.md, Durability). So a node is a single server; a step's
/// service time is the sum of the costs below for what the step did.
///
/// `measured` holds the constants measured on the development machine (2 cores, AMD EPYC,
/// swift-crypto's BoringSSL SHA-256 and HMAC, release build); each says where it comes from.
/// `meshdb-consensus-bench --costs` re-measures the message constants on any machine.
public struct NodeCostModel: Sendable, Hashable {
    /// Opening one frame: its header, the SHA-256 of a small body and one HMAC check, decoding a
    /// vote-sized message (`Authenticator.open` of a PREPARE sealed to 3 replicas).
    public var frameOpenNanos: UInt64
    /// Per request a frame carries (a client request, or each request of a pre-prepare's batch):
    /// decoding it, its SHA-256 digest and the check of this replica's MAC in its authenticator
    /// (the slope of `open` + `batchDigest` + `verifyRequest` from pre-prepares of 1 to 128).
    public var requestVerifyNanos: UInt64
    /// One Ed25519 signature check (checkpoints, view changes, new views).
    public var signatureVerifyNanos: UInt64
    /// One Ed25519 signature (a replica signs its checkpoint message).
    public var signNanos: UInt64
    /// Sealing one outgoing message: encoding it and hashing its body (`Authenticator.seal` of a
    /// vote to 2 replicas, less its per-destination part).
    public var sealNanos: UInt64
    /// Per request encoded into an outgoing message (the slope of `seal` from pre-prepares of 1
    /// to 128 requests).
    public var sealRequestNanos: UInt64
    /// Per destination of an outgoing message: one HMAC entry (the slope of `seal` from 2 to 6
    /// recipients).
    public var destinationNanos: UInt64
    /// The replica's own bookkeeping per step beyond opening and sealing: slot and quorum
    /// updates, hash-table lookups, allocation. The residual of the ordering bench's replica
    /// time once the costs above are taken out, divided by the frames the replicas handled.
    public var stepNanos: UInt64
    /// Per request a replica executes, beyond the SQLite row: the client table, the pending set,
    /// building the reply. Fitted with `stepNanos` on the ordering bench's residual; it includes
    /// that bench's hash-chain execution (one SHA-256 per request, about 0.3 µs), so with
    /// `executeRowNanos` on top a request is slightly overcharged, not undercharged.
    public var requestStepNanos: UInt64
    /// Applying one written row in the shard's SQLite transaction: `make bench-micro`, "shard
    /// apply, batch of 10000" (1,024,096 rows/s ≈ 0.98 µs a row).
    public var executeRowNanos: UInt64
    /// Committing one executed batch's SQLite transaction with `synchronous=FULL` (one WAL
    /// fsync): `make bench-micro`, "shard apply, batch of 1" (4,602 rows/s ≈ 217 µs a commit).
    public var shardCommitNanos: UInt64
    /// One fsync of one group's PBFT log. `NodeRuntime.syncThenSend` fsyncs each group's log that
    /// has unsynced records, on the node's queue, before the messages that waited for them
    /// leave; taken equal to `shardCommitNanos` (both are one append-then-fsync on this disk).
    public var logSyncNanos: UInt64

    public init(
        frameOpenNanos: UInt64, requestVerifyNanos: UInt64, signatureVerifyNanos: UInt64, signNanos: UInt64,
        sealNanos: UInt64, sealRequestNanos: UInt64, destinationNanos: UInt64, stepNanos: UInt64,
        requestStepNanos: UInt64, executeRowNanos: UInt64, shardCommitNanos: UInt64, logSyncNanos: UInt64
    ) {
        self.frameOpenNanos = frameOpenNanos
        self.requestVerifyNanos = requestVerifyNanos
        self.signatureVerifyNanos = signatureVerifyNanos
        self.signNanos = signNanos
        self.sealNanos = sealNanos
        self.sealRequestNanos = sealRequestNanos
        self.destinationNanos = destinationNanos
        self.stepNanos = stepNanos
        self.requestStepNanos = requestStepNanos
        self.executeRowNanos = executeRowNanos
        self.shardCommitNanos = shardCommitNanos
        self.logSyncNanos = logSyncNanos
    }

    /// Measured on the development machine on 2026-11-21 (see docs/BENCHMARKS.md, "Scale on
    /// paper"): the message costs are the medians of three runs of `meshdb-consensus-bench
    /// --costs` (thread CPU time, so other sessions' load does not count), the disk and row
    /// costs come from `make bench-micro`'s shard apply rows.
    public static let measured = NodeCostModel(
        frameOpenNanos: 955, requestVerifyNanos: 1_142, signatureVerifyNanos: 87_036, signNanos: 17_598,
        sealNanos: 312, sealRequestNanos: 241, destinationNanos: 512, stepNanos: 1_150, requestStepNanos: 950,
        executeRowNanos: 980, shardCommitNanos: 217_000, logSyncNanos: 217_000)

    /// A frame's cost to its receiver, before the step's own sends and execution.
    public func receiveNanos(_ shape: FrameShape) -> UInt64 {
        frameOpenNanos + UInt64(shape.requests) * requestVerifyNanos + UInt64(shape.signatures) * signatureVerifyNanos
    }

    /// The cost of sealing `shape` for `destinations` recipients (signing included: a replica
    /// signs the checkpoint it sends).
    public func sendNanos(_ shape: FrameShape, destinations: Int) -> UInt64 {
        sealNanos + UInt64(shape.requests) * sealRequestNanos + UInt64(destinations) * destinationNanos
            + (shape.kind == .checkpoint ? signNanos : 0)
    }

    /// Executing a committed batch of `rows` fresh requests: the rows and the commit. A batch
    /// whose requests all ran before (a retransmission) writes nothing and commits nothing.
    public func executeNanos(rows: Int) -> UInt64 {
        rows == 0 ? 0 : shardCommitNanos + UInt64(rows) * (executeRowNanos + requestStepNanos)
    }
}

/// What the cost model needs to know about a frame, read from its fixed-position header without
/// decoding it (the simulator classifies every frame; decoding each twice would double its cost).
public struct FrameShape: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        case request = 1, prePrepare, prepare, commit, reply, checkpoint, checkpointCertificate
        case viewChange, newView, status, fetchSnapshot, snapshot
    }

    public var kind: Kind
    /// Requests carried: 1 for a client request, the batch size for a pre-prepare, else 0.
    public var requests: Int
    /// Ed25519 signatures the receiver checks (at least one for the signed message kinds;
    /// certificates and view changes carry more, counted here as one: they are rare without
    /// faults, and the scale runs inject none).
    public var signatures: Int

    public init(kind: Kind, requests: Int, signatures: Int) {
        self.kind = kind
        self.requests = requests
        self.signatures = signatures
    }

    /// Reads the shape of a frame as `Authenticator.seal` lays it out: `u32 body length`, the
    /// sender (tag byte + u64), the message tag, then for a pre-prepare view, sequence, digest and
    /// the u32 batch count. Nil for a frame too short or with an unknown tag.
    public init?(frame: [UInt8]) {
        var reader = ByteReader(frame, offset: 4 + 9)
        guard let tag = try? reader.readU8("message tag"), let kind = Kind(rawValue: tag) else { return nil }
        self.kind = kind
        switch kind {
        case .request:
            requests = 1
        case .prePrepare:
            // view, sequence, then the 32-byte digest as four words.
            for field in ["view", "sequence", "digest", "digest", "digest", "digest"] {
                guard (try? reader.readU64(field)) != nil else { return nil }
            }
            guard let count = try? reader.readU32("batch count") else { return nil }
            requests = Int(count)
        default:
            requests = 0
        }
        switch kind {
        case .checkpoint, .checkpointCertificate, .viewChange, .newView, .snapshot: signatures = 1
        default: signatures = 0
        }
    }
}
