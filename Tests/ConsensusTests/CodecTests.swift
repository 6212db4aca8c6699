import Testing
@testable import Consensus

@Suite struct CodecTests {
    let codec = MessageCodec(replicaCount: 4)

    func sampleMessages() -> [Message] {
        let request = Request(client: 9, timestamp: 3, operation: [1, 2, 3], authenticator: [.zero, .zero, .zero, .zero])
        let batch = [request]
        let checkpoint = Checkpoint(sequence: 8, stateDigest: Digest.of([1]), replica: 2, signature: Array(repeating: 7, count: 64))
        let certificate = CheckpointCertificate(sequence: 8, stateDigest: Digest.of([1]), checkpoints: [checkpoint])
        let vc = ViewChange(
            newView: 2, stable: certificate,
            prepared: [PreparedEntry(sequence: 9, view: 1, digest: batchDigest(batch), batch: batch)],
            prePrepared: [PrePreparedEntry(sequence: 9, digest: batchDigest(batch), view: 1)],
            replica: 3, signature: Array(repeating: 1, count: 64))
        return [
            .request(request),
            .prePrepare(PrePrepare(view: 1, sequence: 2, digest: batchDigest(batch), batch: batch)),
            .prepare(Vote(view: 1, sequence: 2, digest: Digest.of([5]), replica: 1)),
            .commit(Vote(view: 1, sequence: 2, digest: Digest.of([5]), replica: 3)),
            .reply(Reply(view: 1, timestamp: 3, client: 9, replica: 0, result: [4, 4])),
            .checkpoint(checkpoint),
            .checkpointCertificate(certificate),
            .viewChange(vc),
            .newView(NewView(view: 2, viewChanges: [vc], checkpointSequence: 8,
                             chosen: [NewViewEntry(sequence: 9, digest: batchDigest(batch))], replica: 2)),
            .status(Status(view: 1, inViewChange: true, lastExecuted: 5, stableSequence: 4, replica: 2)),
            .fetchSnapshot(FetchSnapshot(sequence: 8, replica: 1)),
            .snapshot(SnapshotTransfer(certificate: certificate, state: [1, 2, 3], replica: 0)),
        ]
    }

    /// The request digest is kept in the request: it must always be the hash of the current
    /// fields, whether the request was built, decoded, or changed afterwards (as a faulty
    /// primary in the simulator does), and never anything the sender put on the wire.
    @Test func cachedRequestDigestFollowsTheFields() throws {
        func freshDigest(_ r: Request) -> Digest {
            var w = ByteWriter()
            w.write(UInt8(0x52)); w.write(r.client); w.write(r.timestamp); w.writeBytes(r.operation)
            return Digest.of(w.bytes)
        }
        var request = Request(client: 9, timestamp: 3, operation: [1, 2, 3], authenticator: [.zero])
        #expect(request.digest == freshDigest(request))
        guard case .request(let decoded) = try codec.decode(codec.encode(.request(request))) else {
            Issue.record("a request did not decode as a request"); return
        }
        #expect(decoded.digest == request.digest)
        let before = request.digest
        request.operation = [1, 2, 4]
        #expect(request.digest != before && request.digest == freshDigest(request))
        request.timestamp = 4
        #expect(request.digest == freshDigest(request))
        request.client = 10
        #expect(request.digest == freshDigest(request))
        request.authenticator = [Digest.of([1])]
        #expect(request.digest == freshDigest(request), "the authenticator is not part of D(m)")
    }

    /// The client's cheap pre-check reads the reply timestamp from the header; it must agree
    /// with the full decode.
    @Test func replyTimestampPeekMatchesTheDecodedReply() {
        let identity = NodeIdentity.deterministic(seed: 1, principal: .replica(0))
        let directory = KeyDirectory(replicas: [identity.publicIdentity], clients: [:])
        let auth = Authenticator(me: .replica(0), identity: identity, directory: directory,
                                 codec: MessageCodec(replicaCount: 1))
        let reply = Reply(view: 1, timestamp: 77, client: 9, replica: 0, result: [4, 4])
        let frame = auth.seal(.reply(reply), to: [.client(9)])
        #expect(auth.peekReplyTimestamp(frame) == 77)
        #expect(auth.peekReplyTimestamp(auth.seal(.prepare(Vote(view: 1, sequence: 77, digest: .zero, replica: 0)),
                                                  to: [.client(9)])) == nil)
        #expect(auth.peekReplyTimestamp(Array(frame.prefix(10))) == nil)
    }

    @Test func everyMessageRoundTrips() throws {
        for message in sampleMessages() {
            let bytes = codec.encode(message)
            #expect(try codec.decode(bytes) == message)
            // Deterministic: encoding twice gives the same bytes.
            #expect(codec.encode(message) == bytes)
        }
    }

    @Test func everyTruncationThrowsATypedError() {
        for message in sampleMessages() {
            let bytes = codec.encode(message)
            for length in 0..<bytes.count {
                #expect(throws: DecodeError.self) { try codec.decode(Array(bytes.prefix(length))) }
            }
        }
    }

    /// Mutated bytes either throw a typed error or decode to a message whose encoding is exactly
    /// those bytes (the encoding is canonical, so two byte strings never mean the same message).
    @Test func mutatedBytesThrowOrDecodeCanonically() {
        var rng = Xoshiro256(seed: 42)
        var decoded = 0
        var rejected = 0
        for message in sampleMessages() {
            let bytes = codec.encode(message)
            for _ in 0..<200 {
                var mutated = bytes
                for _ in 0..<Int(rng.between(1, 4)) {
                    mutated[Int(rng.below(UInt64(mutated.count)))] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let value = try codec.decode(mutated)
                    #expect(codec.encode(value) == mutated)
                    decoded += 1
                } catch {
                    rejected += 1
                }
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }

    @Test func limitsAreNamedInErrors() {
        var w = ByteWriter()
        w.write(UInt8(2))  // pre-prepare
        w.write(UInt64(0)); w.write(UInt64(1)); w.write(Digest.zero)
        w.write(UInt32(1_000_000))  // request count
        #expect(throws: DecodeError.limitExceeded(field: "batch request count", count: 1_000_000, limit: CodecLimits().batchRequestsMax)) {
            try codec.decode(w.bytes)
        }
        var vote = ByteWriter()
        vote.write(UInt8(3)); vote.write(UInt64(0)); vote.write(UInt64(1)); vote.write(Digest.zero); vote.write(UInt32(4))
        #expect(throws: DecodeError.limitExceeded(field: "vote replica", count: 4, limit: 3)) { try codec.decode(vote.bytes) }
        #expect(throws: DecodeError.unknownTag(field: "message", tag: 99)) { try codec.decode([99]) }
        #expect(throws: DecodeError.trailingBytes(count: 1)) {
            try codec.decode(codec.encode(.fetchSnapshot(FetchSnapshot(sequence: 1, replica: 0))) + [0])
        }
    }

    @Test func persistedRecordsRoundTrip() throws {
        let records = PersistedRecordCodec(codec: codec)
        let batch = [Request(client: 1, timestamp: 1, operation: [9])]
        let all: [PersistedRecord] = [
            .prePrepare(PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)),
            .commitSent(Vote(view: 0, sequence: 1, digest: batchDigest(batch), replica: 1)),
            .executed(sequence: 1, batch: batch),
            .checkpoint(CheckpointCertificate(sequence: 4, stateDigest: .zero, checkpoints: []), snapshot: [1, 2]),
        ]
        for record in all {
            let bytes = records.encode(record)
            #expect(try records.decode(bytes) == record)
            #expect(throws: DecodeError.self) { try records.decode(Array(bytes.dropLast())) }
        }
    }
}
