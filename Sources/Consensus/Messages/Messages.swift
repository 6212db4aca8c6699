/// Who sent or receives a message: a replica of the group (index 0..<n) or a client.
public enum Principal: Hashable, Comparable, Sendable, CustomStringConvertible {
    case replica(Int)
    case client(UInt64)

    public var description: String {
        switch self {
        case .replica(let index): "r\(index)"
        case .client(let id): "c\(id)"
        }
    }
}

/// A client's operation (OSDI'99 §4.2: ⟨REQUEST, o, t, c⟩). The timestamp orders one client's
/// requests and gives exactly-once semantics. The authenticator holds one MAC per replica over
/// `digest`, so every backup can check a request the primary relays in a pre-prepare (TOCS §3.2).
public struct Request: Hashable, Sendable {
    public var client: UInt64 { didSet { digest = Self.digest(client, timestamp, operation) } }
    public var timestamp: UInt64 { didSet { digest = Self.digest(client, timestamp, operation) } }
    public var operation: [UInt8] { didSet { digest = Self.digest(client, timestamp, operation) } }
    /// MAC for replica i at index i, over `digest`.
    public var authenticator: [Digest]
    /// D(m): covers client, timestamp and operation, not the authenticator. Computed here, once,
    /// from the fields (on creation, on decode, and again whenever a field changes), never taken
    /// from the wire: a replica used to hash each request several times (receive, batch,
    /// pre-prepare check).
    public private(set) var digest: Digest

    public init(client: UInt64, timestamp: UInt64, operation: [UInt8], authenticator: [Digest] = []) {
        self.client = client
        self.timestamp = timestamp
        self.operation = operation
        self.authenticator = authenticator
        self.digest = Self.digest(client, timestamp, operation)
    }

    static func digest(_ client: UInt64, _ timestamp: UInt64, _ operation: [UInt8]) -> Digest {
        // The same bytes a ByteWriter would produce ("R" | client | timestamp | u32 length |
        // operation), hashed without building an intermediate array.
        var hasher = SHA256Hasher()
        withUnsafeTemporaryAllocation(byteCount: 21, alignment: 8) { header in
            header.storeBytes(of: UInt8(0x52), toByteOffset: 0, as: UInt8.self)  // "R": not a batch digest.
            header.storeBytes(of: client.littleEndian, toByteOffset: 1, as: UInt64.self)
            header.storeBytes(of: timestamp.littleEndian, toByteOffset: 9, as: UInt64.self)
            header.storeBytes(of: UInt32(operation.count).littleEndian, toByteOffset: 17, as: UInt32.self)
            hasher.update(UnsafeRawBufferPointer(header))
        }
        hasher.update(operation)
        return hasher.finalize()
    }

    /// Encoded size, used to bound batches by bytes.
    public var encodedByteCount: Int { 8 + 8 + 4 + operation.count + 1 + 32 * authenticator.count }
}

/// The digest of an ordered batch of requests. The empty batch is the null request of a new view
/// (OSDI'99 §4.4).
public func batchDigest(_ requests: [Request]) -> Digest {
    batchDigest(requestDigests: requests.map(\.digest))
}

/// The batch digest from the requests' digests, when the caller has them already.
public func batchDigest(requestDigests: [Digest]) -> Digest {
    var hasher = SHA256Hasher()
    withUnsafeTemporaryAllocation(byteCount: 5, alignment: 8) { header in
        header.storeBytes(of: UInt8(0x42), toByteOffset: 0, as: UInt8.self)  // "B"
        header.storeBytes(of: UInt32(requestDigests.count).littleEndian, toByteOffset: 1, as: UInt32.self)
        hasher.update(UnsafeRawBufferPointer(header))
    }
    // The digests are contiguous words: one update for the lot.
    requestDigests.withUnsafeBytes { hasher.update($0) }
    return hasher.finalize()
}

/// The digest of the null request that fills a gap in a new view.
public let nullBatchDigest: Digest = batchDigest([])

/// ⟨PRE-PREPARE, v, n, d⟩ with the batch piggybacked (OSDI'99 §4.2).
public struct PrePrepare: Hashable, Sendable {
    public var view: UInt64
    public var sequence: UInt64
    public var digest: Digest
    public var batch: [Request]

    public init(view: UInt64, sequence: UInt64, digest: Digest, batch: [Request]) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.batch = batch
    }
}

/// ⟨PREPARE, v, n, d, i⟩ and ⟨COMMIT, v, n, d, i⟩ share a shape (OSDI'99 §4.2).
public struct Vote: Hashable, Sendable {
    public var view: UInt64
    public var sequence: UInt64
    public var digest: Digest
    public var replica: Int

    public init(view: UInt64, sequence: UInt64, digest: Digest, replica: Int) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.replica = replica
    }
}

/// ⟨REPLY, v, t, c, i, r⟩ (OSDI'99 §4.1).
public struct Reply: Hashable, Sendable {
    public var view: UInt64
    public var timestamp: UInt64
    public var client: UInt64
    public var replica: Int
    public var result: [UInt8]

    public init(view: UInt64, timestamp: UInt64, client: UInt64, replica: Int, result: [UInt8]) {
        self.view = view
        self.timestamp = timestamp
        self.client = client
        self.replica = replica
        self.result = result
    }
}

/// ⟨CHECKPOINT, n, d, i⟩σi (OSDI'99 §4.3), signed so that a set of them proves a stable
/// checkpoint to a third party.
public struct Checkpoint: Hashable, Sendable {
    public var sequence: UInt64
    public var stateDigest: Digest
    public var replica: Int
    public var signature: [UInt8]

    public init(sequence: UInt64, stateDigest: Digest, replica: Int, signature: [UInt8] = []) {
        self.sequence = sequence
        self.stateDigest = stateDigest
        self.replica = replica
        self.signature = signature
    }
}

/// 2f+1 signed checkpoints from distinct replicas for one (n, d): the proof that a checkpoint is
/// stable (OSDI'99 §4.3). Sequence 0 with no signatures is the genesis checkpoint.
public struct CheckpointCertificate: Hashable, Sendable {
    public var sequence: UInt64
    public var stateDigest: Digest
    public var checkpoints: [Checkpoint]

    public init(sequence: UInt64, stateDigest: Digest, checkpoints: [Checkpoint]) {
        self.sequence = sequence
        self.stateDigest = stateDigest
        self.checkpoints = checkpoints
    }

    public var isGenesis: Bool { sequence == 0 && checkpoints.isEmpty }
}

/// An entry of a VIEW-CHANGE's P set: the replica prepared `digest` at `sequence` in `view`,
/// the latest view in which it prepared anything at that sequence (TOCS §4.5). The batch rides
/// along so that the new primary can re-propose it.
public struct PreparedEntry: Hashable, Sendable {
    public var sequence: UInt64
    public var view: UInt64
    public var digest: Digest
    public var batch: [Request]

    public init(sequence: UInt64, view: UInt64, digest: Digest, batch: [Request]) {
        self.sequence = sequence
        self.view = view
        self.digest = digest
        self.batch = batch
    }
}

/// An entry of a VIEW-CHANGE's Q set: the replica pre-prepared `digest` at `sequence` and
/// `view` is the latest view in which it did so (TOCS §4.5).
public struct PrePreparedEntry: Hashable, Sendable {
    public var sequence: UInt64
    public var digest: Digest
    public var view: UInt64

    public init(sequence: UInt64, digest: Digest, view: UInt64) {
        self.sequence = sequence
        self.digest = digest
        self.view = view
    }
}

/// ⟨VIEW-CHANGE, v+1, n, C, P, Q, i⟩σi (OSDI'99 §4.4, TOCS §4.5). C is the stable checkpoint
/// with its proof; P and Q are sorted by sequence, then digest.
public struct ViewChange: Hashable, Sendable {
    public var newView: UInt64
    public var stable: CheckpointCertificate
    public var prepared: [PreparedEntry]
    public var prePrepared: [PrePreparedEntry]
    public var replica: Int
    public var signature: [UInt8]

    public init(
        newView: UInt64, stable: CheckpointCertificate, prepared: [PreparedEntry],
        prePrepared: [PrePreparedEntry], replica: Int, signature: [UInt8] = []
    ) {
        self.newView = newView
        self.stable = stable
        self.prepared = prepared
        self.prePrepared = prePrepared
        self.replica = replica
        self.signature = signature
    }
}

/// One choice of the new primary: `digest` at `sequence` (nullBatchDigest for a gap).
public struct NewViewEntry: Hashable, Sendable {
    public var sequence: UInt64
    public var digest: Digest

    public init(sequence: UInt64, digest: Digest) {
        self.sequence = sequence
        self.digest = digest
    }
}

/// ⟨NEW-VIEW, v+1, V, O⟩σp (OSDI'99 §4.4, TOCS §4.5): V is the set of VIEW-CHANGE messages the
/// primary decided from, O the pre-prepares it re-issues (as (n, d); the batches are in V).
public struct NewView: Hashable, Sendable {
    public var view: UInt64
    public var viewChanges: [ViewChange]
    public var checkpointSequence: UInt64
    public var chosen: [NewViewEntry]
    public var replica: Int
    public var signature: [UInt8]

    public init(
        view: UInt64, viewChanges: [ViewChange], checkpointSequence: UInt64, chosen: [NewViewEntry],
        replica: Int, signature: [UInt8] = []
    ) {
        self.view = view
        self.viewChanges = viewChanges
        self.checkpointSequence = checkpointSequence
        self.chosen = chosen
        self.replica = replica
        self.signature = signature
    }
}

/// A replica's summary of where it is, sent periodically so that peers retransmit what it
/// misses (TOCS §5.2: status messages drive retransmission on lossy links).
public struct Status: Hashable, Sendable {
    public var view: UInt64
    public var inViewChange: Bool
    public var lastExecuted: UInt64
    public var stableSequence: UInt64
    public var replica: Int

    public init(view: UInt64, inViewChange: Bool, lastExecuted: UInt64, stableSequence: UInt64, replica: Int) {
        self.view = view
        self.inViewChange = inViewChange
        self.lastExecuted = lastExecuted
        self.stableSequence = stableSequence
        self.replica = replica
    }
}

/// Asks for the snapshot at a stable checkpoint (TOCS §5.3, state transfer).
public struct FetchSnapshot: Hashable, Sendable {
    public var sequence: UInt64
    public var replica: Int

    public init(sequence: UInt64, replica: Int) {
        self.sequence = sequence
        self.replica = replica
    }
}

/// The replicated state at a stable checkpoint with the certificate that vouches for its digest.
public struct SnapshotTransfer: Hashable, Sendable {
    public var certificate: CheckpointCertificate
    public var state: [UInt8]
    public var replica: Int

    public init(certificate: CheckpointCertificate, state: [UInt8], replica: Int) {
        self.certificate = certificate
        self.state = state
        self.replica = replica
    }
}

/// Every message of the protocol.
public enum Message: Hashable, Sendable {
    case request(Request)
    case prePrepare(PrePrepare)
    case prepare(Vote)
    case commit(Vote)
    case reply(Reply)
    case checkpoint(Checkpoint)
    case checkpointCertificate(CheckpointCertificate)
    case viewChange(ViewChange)
    case newView(NewView)
    case status(Status)
    case fetchSnapshot(FetchSnapshot)
    case snapshot(SnapshotTransfer)

    /// A short name for counters and traces.
    public var kind: String {
        switch self {
        case .request: "request"
        case .prePrepare: "pre-prepare"
        case .prepare: "prepare"
        case .commit: "commit"
        case .reply: "reply"
        case .checkpoint: "checkpoint"
        case .checkpointCertificate: "checkpoint-certificate"
        case .viewChange: "view-change"
        case .newView: "new-view"
        case .status: "status"
        case .fetchSnapshot: "fetch-snapshot"
        case .snapshot: "snapshot"
        }
    }
}
