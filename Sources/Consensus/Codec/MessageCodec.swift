/// Bounds on every count and size a peer can send; decoding names the one that was hit.
public struct CodecLimits: Sendable, Hashable {
    /// 128 KiB: a row with a bytea value at blob_inline_max (64 KiB) must fit one shard operation
    /// with its statement around it (docs/blobs.md, row_bytes_inline_max).
    public var operationBytesMax = 128 * 1024
    public var resultBytesMax = 64 * 1024
    public var batchRequestsMax = 4096
    public var viewChangeEntriesMax = 8192
    public var snapshotBytesMax = 64 * 1024 * 1024
    public var signatureBytes = 64

    public init() {}
}

/// The binary codec of every protocol message. Layout: a tag byte, then fixed-width
/// little-endian fields in declaration order; arrays carry a u32 count. Sets are encoded from
/// sorted arrays, never from a Dictionary or Set (DESIGN.md, Determinism).
public struct MessageCodec: Sendable {
    public let replicaCount: Int
    public let limits: CodecLimits

    public init(replicaCount: Int, limits: CodecLimits = CodecLimits()) {
        self.replicaCount = replicaCount
        self.limits = limits
    }

    // MARK: Encoding

    public func encode(_ message: Message) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        encode(message, into: &writer)
        return writer.bytes
    }

    /// The tag of a pre-prepare, and the bytes of its header after the tag (view, sequence,
    /// digest): a frame's MAC covers the header, not the batch (Authenticator, OSDI'99 §4.2).
    static let prePrepareTag: UInt8 = 2
    static let prePrepareHeaderByteCount = 8 + 8 + 32

    public func encode(_ message: Message, into w: inout ByteWriter) {
        switch message {
        case .request(let r): w.write(UInt8(1)); write(r, &w)
        case .prePrepare(let p): writePrePrepareHeader(p, &w); writeBatch(p.batch, &w)
        case .prepare(let v): writeVote(tag: 3, v, &w)
        case .commit(let v): writeVote(tag: 4, v, &w)
        case .reply(let r):
            // The fixed part in one run (replies are most of the frames a replica sends).
            w.writeFields(1 + 8 + 8 + 8 + 4 + 4) { f in
                f.write(UInt8(5)); f.write(r.view); f.write(r.timestamp); f.write(r.client)
                f.write(UInt32(r.replica)); f.write(UInt32(r.result.count))
            }
            w.writeRaw(r.result)
        case .checkpoint(let c): w.write(UInt8(6)); write(c, &w)
        case .checkpointCertificate(let c): w.write(UInt8(7)); write(c, &w)
        case .viewChange(let v): w.write(UInt8(8)); write(v, &w)
        case .newView(let n): w.write(UInt8(9)); write(n, &w)
        case .status(let s):
            w.write(UInt8(10)); w.write(s.view); w.write(s.inViewChange); w.write(s.lastExecuted)
            w.write(s.stableSequence); w.write(UInt32(s.replica))
        case .fetchSnapshot(let f): w.write(UInt8(11)); w.write(f.sequence); w.write(UInt32(f.replica))
        case .snapshot(let s): w.write(UInt8(12)); write(s.certificate, &w); w.writeBytes(s.state); w.write(UInt32(s.replica))
        }
    }

    func write(_ r: Request, _ w: inout ByteWriter) {
        w.writeFields(8 + 8 + 4) { f in
            f.write(r.client); f.write(r.timestamp); f.write(UInt32(r.operation.count))
        }
        w.writeRaw(r.operation)
        w.writeFields(1 + 32 * r.authenticator.count) { f in
            f.write(UInt8(r.authenticator.count))
            for mac in r.authenticator { f.write(mac) }
        }
    }

    func write(_ p: PrePrepare, _ w: inout ByteWriter) {
        w.write(p.view); w.write(p.sequence); w.write(p.digest)
        writeBatch(p.batch, &w)
    }

    /// The tag and header of a pre-prepare message, without its batch.
    func writePrePrepareHeader(_ p: PrePrepare, _ w: inout ByteWriter) {
        w.writeFields(1 + Self.prePrepareHeaderByteCount) { f in
            f.write(Self.prePrepareTag); f.write(p.view); f.write(p.sequence); f.write(p.digest)
        }
    }

    func writeBatch(_ batch: [Request], _ w: inout ByteWriter) {
        w.write(UInt32(batch.count))
        for r in batch { write(r, &w) }
    }

    func write(_ v: Vote, _ w: inout ByteWriter) {
        w.write(v.view); w.write(v.sequence); w.write(v.digest); w.write(UInt32(v.replica))
    }

    /// A PREPARE or COMMIT with its tag, in one run.
    func writeVote(tag: UInt8, _ v: Vote, _ w: inout ByteWriter) {
        w.writeFields(1 + 8 + 8 + 32 + 4) { f in
            f.write(tag); f.write(v.view); f.write(v.sequence); f.write(v.digest); f.write(UInt32(v.replica))
        }
    }

    func write(_ c: Checkpoint, _ w: inout ByteWriter) {
        w.write(c.sequence); w.write(c.stateDigest); w.write(UInt32(c.replica)); w.writeBytes(c.signature)
    }

    func write(_ c: CheckpointCertificate, _ w: inout ByteWriter) {
        w.write(c.sequence); w.write(c.stateDigest); w.write(UInt32(c.checkpoints.count))
        for checkpoint in c.checkpoints { write(checkpoint, &w) }
    }

    func write(_ v: ViewChange, _ w: inout ByteWriter, includeSignature: Bool = true) {
        w.write(v.newView); write(v.stable, &w)
        w.write(UInt32(v.prepared.count))
        for e in v.prepared { w.write(e.sequence); w.write(e.view); w.write(e.digest); writeBatch(e.batch, &w) }
        w.write(UInt32(v.prePrepared.count))
        for e in v.prePrepared { w.write(e.sequence); w.write(e.digest); w.write(e.view) }
        w.write(UInt32(v.replica))
        w.writeBytes(includeSignature ? v.signature : [])
    }

    func write(_ n: NewView, _ w: inout ByteWriter, includeSignature: Bool = true) {
        w.write(n.view); w.write(UInt32(n.viewChanges.count))
        for v in n.viewChanges { write(v, &w) }
        w.write(n.checkpointSequence)
        w.write(UInt32(n.chosen.count))
        for e in n.chosen { w.write(e.sequence); w.write(e.digest) }
        w.write(UInt32(n.replica))
        w.writeBytes(includeSignature ? n.signature : [])
    }

    // MARK: What signatures cover

    /// The bytes a CHECKPOINT signature covers (domain-separated from other signed messages).
    public func signedBytes(_ c: Checkpoint) -> [UInt8] {
        var w = ByteWriter()
        w.writeRaw(Array("meshdb-pbft-checkpoint".utf8))
        w.write(c.sequence); w.write(c.stateDigest); w.write(UInt32(c.replica))
        return w.bytes
    }

    public func signedBytes(_ v: ViewChange) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.writeRaw(Array("meshdb-pbft-view-change".utf8))
        write(v, &w, includeSignature: false)
        return w.bytes
    }

    public func signedBytes(_ n: NewView) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.writeRaw(Array("meshdb-pbft-new-view".utf8))
        write(n, &w, includeSignature: false)
        return w.bytes
    }

    // MARK: Decoding

    public func decode(_ bytes: [UInt8]) throws(DecodeError) -> Message {
        var reader = ByteReader(bytes)
        let message = try decode(&reader)
        try reader.finish()
        return message
    }

    public func decode(_ r: inout ByteReader) throws(DecodeError) -> Message {
        let tag = try r.readU8("message tag")
        switch tag {
        case 1: return .request(try readRequest(&r))
        case Self.prePrepareTag: return .prePrepare(try readPrePrepare(&r))
        case 3: return .prepare(try readVote(&r))
        case 4: return .commit(try readVote(&r))
        case 5:
            let view = try r.readU64("reply view")
            let timestamp = try r.readU64("reply timestamp")
            let client = try r.readU64("reply client")
            let replica = try r.readReplica("reply replica", replicaCountMax: replicaCount)
            let result = try r.readBytes("reply result bytes", limit: limits.resultBytesMax)
            return .reply(Reply(view: view, timestamp: timestamp, client: client, replica: replica, result: result))
        case 6: return .checkpoint(try readCheckpoint(&r))
        case 7: return .checkpointCertificate(try readCertificate(&r))
        case 8: return .viewChange(try readViewChange(&r))
        case 9: return .newView(try readNewView(&r))
        case 10:
            let view = try r.readU64("status view")
            let inViewChange = try r.readBool("status in-view-change")
            let lastExecuted = try r.readU64("status last executed")
            let stable = try r.readU64("status stable sequence")
            let replica = try r.readReplica("status replica", replicaCountMax: replicaCount)
            return .status(Status(view: view, inViewChange: inViewChange, lastExecuted: lastExecuted,
                                  stableSequence: stable, replica: replica))
        case 11:
            let sequence = try r.readU64("fetch sequence")
            let replica = try r.readReplica("fetch replica", replicaCountMax: replicaCount)
            return .fetchSnapshot(FetchSnapshot(sequence: sequence, replica: replica))
        case 12:
            let certificate = try readCertificate(&r)
            let state = try r.readBytes("snapshot bytes", limit: limits.snapshotBytesMax)
            let replica = try r.readReplica("snapshot replica", replicaCountMax: replicaCount)
            return .snapshot(SnapshotTransfer(certificate: certificate, state: state, replica: replica))
        default:
            throw .unknownTag(field: "message", tag: tag)
        }
    }

    func readRequest(_ r: inout ByteReader) throws(DecodeError) -> Request {
        let client = try r.readU64("request client")
        let timestamp = try r.readU64("request timestamp")
        let operation = try r.readBytes("request operation bytes", limit: limits.operationBytesMax)
        let macCount = Int(try r.readU8("request authenticator count"))
        guard macCount <= replicaCount else {
            throw .limitExceeded(field: "request authenticator count", count: macCount, limit: replicaCount)
        }
        var macs = [Digest]()
        macs.reserveCapacity(macCount)
        for _ in 0..<macCount { macs.append(try r.readDigest("request MAC")) }
        return Request(client: client, timestamp: timestamp, operation: operation, authenticator: macs)
    }

    func readBatch(_ r: inout ByteReader) throws(DecodeError) -> [Request] {
        let count = try r.readCount("batch request count", limit: limits.batchRequestsMax)
        var batch = [Request]()
        batch.reserveCapacity(count)
        for _ in 0..<count { batch.append(try readRequest(&r)) }
        return batch
    }

    func readPrePrepare(_ r: inout ByteReader) throws(DecodeError) -> PrePrepare {
        let view = try r.readU64("pre-prepare view")
        let sequence = try r.readU64("pre-prepare sequence")
        let digest = try r.readDigest("pre-prepare digest")
        let batch = try readBatch(&r)
        return PrePrepare(view: view, sequence: sequence, digest: digest, batch: batch)
    }

    func readVote(_ r: inout ByteReader) throws(DecodeError) -> Vote {
        let view = try r.readU64("vote view")
        let sequence = try r.readU64("vote sequence")
        let digest = try r.readDigest("vote digest")
        let replica = try r.readReplica("vote replica", replicaCountMax: replicaCount)
        return Vote(view: view, sequence: sequence, digest: digest, replica: replica)
    }

    func readSignature(_ r: inout ByteReader, _ field: String) throws(DecodeError) -> [UInt8] {
        try r.readBytes(field, limit: limits.signatureBytes)
    }

    func readCheckpoint(_ r: inout ByteReader) throws(DecodeError) -> Checkpoint {
        let sequence = try r.readU64("checkpoint sequence")
        let digest = try r.readDigest("checkpoint digest")
        let replica = try r.readReplica("checkpoint replica", replicaCountMax: replicaCount)
        let signature = try readSignature(&r, "checkpoint signature")
        return Checkpoint(sequence: sequence, stateDigest: digest, replica: replica, signature: signature)
    }

    func readCertificate(_ r: inout ByteReader) throws(DecodeError) -> CheckpointCertificate {
        let sequence = try r.readU64("certificate sequence")
        let digest = try r.readDigest("certificate digest")
        let count = try r.readCount("certificate checkpoint count", limit: replicaCount)
        var checkpoints = [Checkpoint]()
        for _ in 0..<count { checkpoints.append(try readCheckpoint(&r)) }
        return CheckpointCertificate(sequence: sequence, stateDigest: digest, checkpoints: checkpoints)
    }

    func readViewChange(_ r: inout ByteReader) throws(DecodeError) -> ViewChange {
        let newView = try r.readU64("view-change view")
        let stable = try readCertificate(&r)
        let preparedCount = try r.readCount("view-change P count", limit: limits.viewChangeEntriesMax)
        var prepared = [PreparedEntry]()
        for _ in 0..<preparedCount {
            let sequence = try r.readU64("P sequence")
            let view = try r.readU64("P view")
            let digest = try r.readDigest("P digest")
            let batch = try readBatch(&r)
            prepared.append(PreparedEntry(sequence: sequence, view: view, digest: digest, batch: batch))
        }
        let prePreparedCount = try r.readCount("view-change Q count", limit: limits.viewChangeEntriesMax)
        var prePrepared = [PrePreparedEntry]()
        for _ in 0..<prePreparedCount {
            let sequence = try r.readU64("Q sequence")
            let digest = try r.readDigest("Q digest")
            let view = try r.readU64("Q view")
            prePrepared.append(PrePreparedEntry(sequence: sequence, digest: digest, view: view))
        }
        let replica = try r.readReplica("view-change replica", replicaCountMax: replicaCount)
        let signature = try readSignature(&r, "view-change signature")
        return ViewChange(newView: newView, stable: stable, prepared: prepared, prePrepared: prePrepared,
                          replica: replica, signature: signature)
    }

    func readNewView(_ r: inout ByteReader) throws(DecodeError) -> NewView {
        let view = try r.readU64("new-view view")
        let count = try r.readCount("new-view V count", limit: replicaCount)
        var viewChanges = [ViewChange]()
        for _ in 0..<count { viewChanges.append(try readViewChange(&r)) }
        let checkpointSequence = try r.readU64("new-view checkpoint sequence")
        let chosenCount = try r.readCount("new-view O count", limit: limits.viewChangeEntriesMax)
        var chosen = [NewViewEntry]()
        for _ in 0..<chosenCount {
            let sequence = try r.readU64("O sequence")
            let digest = try r.readDigest("O digest")
            chosen.append(NewViewEntry(sequence: sequence, digest: digest))
        }
        let replica = try r.readReplica("new-view replica", replicaCountMax: replicaCount)
        let signature = try readSignature(&r, "new-view signature")
        return NewView(view: view, viewChanges: viewChanges, checkpointSequence: checkpointSequence,
                       chosen: chosen, replica: replica, signature: signature)
    }

    // MARK: Principals

    /// Bytes of an encoded principal: a tag and a u64.
    static let principalByteCount = 9

    public func write(_ p: Principal, _ w: inout ByteWriter) {
        w.writeFields(Self.principalByteCount) { write(p, &$0) }
    }

    func write(_ p: Principal, _ f: inout FieldWriter) {
        switch p {
        case .replica(let index): f.write(UInt8(0)); f.write(UInt64(index))
        case .client(let id): f.write(UInt8(1)); f.write(id)
        }
    }

    public func readPrincipal(_ r: inout ByteReader, _ field: String) throws(DecodeError) -> Principal {
        let tag = try r.readU8(field)
        let id = try r.readU64(field)
        switch tag {
        case 0:
            guard id < UInt64(replicaCount) else {
                throw .limitExceeded(field: field, count: Int(clamping: id), limit: replicaCount - 1)
            }
            return .replica(Int(id))
        case 1: return .client(id)
        default: throw .unknownTag(field: field, tag: tag)
        }
    }
}
