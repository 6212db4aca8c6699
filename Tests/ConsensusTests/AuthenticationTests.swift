import Testing
@testable import Consensus

@Suite struct AuthenticationTests {
    let cluster = TestCluster()

    @Test func sealedFramesOpenOnlyForTheirRecipients() throws {
        let r0 = cluster.authenticator(forReplica: 0)
        let r1 = cluster.authenticator(forReplica: 1)
        let r2 = cluster.authenticator(forReplica: 2)
        let message = Message.prepare(Vote(view: 0, sequence: 1, digest: .zero, replica: 0))
        let frame = r0.seal(message, to: [.replica(1)])
        let opened = try r1.open(frame)
        #expect(opened.sender == .replica(0) && opened.message == message)
        #expect(throws: AuthenticationError.notAddressedToUs) { try r2.open(frame) }
    }

    @Test func aFlippedByteIsABadMAC() {
        let r0 = cluster.authenticator(forReplica: 0)
        let r1 = cluster.authenticator(forReplica: 1)
        var frame = r0.seal(.status(Status(view: 0, inViewChange: false, lastExecuted: 0, stableSequence: 0, replica: 0)),
                            to: [.replica(1)])
        frame[16] ^= 1  // inside the status view, after the sender
        #expect(throws: AuthenticationError.badMAC(.replica(0))) { try r1.open(frame) }
        var replica = cluster.replicas[1]
        _ = replica.receive(frame: frame)
        _ = replica.receive(frame: [1, 2, 3])
        #expect(replica.dropped[.badMAC] == 1 && replica.dropped[.malformed] == 1)
    }

    /// OSDI'99 §4.2: a pre-prepare is ⟨⟨PRE-PREPARE, v, n, d⟩σp, m⟩. The frame's MAC covers the
    /// header only; the batch rides along, bound by d, which `open` recomputes. A batch changed
    /// in flight no longer matches d; a changed header or tag is a bad MAC. Both the hashed
    /// (multicast) and the direct (one recipient) MAC forms.
    @Test func osdi4_2_prePrepareMACCoversTheHeaderAndTheDigestBindsTheBatch() throws {
        var cluster = TestCluster()
        let primary = cluster.authenticator(forReplica: 0)
        let r1 = cluster.authenticator(forReplica: 1)
        let batch = [cluster.clients[1]!.makeRequest(operation: [1, 2, 3], timestamp: 1)]
        let pp = PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)
        // u32 body length | sender (9) | tag | view, sequence, digest (48) | batch count (4) |
        // client, timestamp (16) | operation length (4) | operation
        let tagOffset = 4 + 9
        let operationOffset = tagOffset + 1 + 48 + 4 + 16 + 4
        for recipients: [Principal] in [[.replica(1)], [.replica(1), .replica(2), .replica(3)]] {
            let frame = primary.seal(.prePrepare(pp), to: recipients)
            #expect(frame[operationOffset] == 1)
            #expect(try r1.open(frame).message == .prePrepare(pp))
            var changedBatch = frame
            changedBatch[operationOffset] ^= 0x10
            #expect(throws: AuthenticationError.batchDigestMismatch(.replica(0))) { try r1.open(changedBatch) }
            var changedHeader = frame
            changedHeader[tagOffset + 1 + 8] ^= 1  // the sequence number
            #expect(throws: AuthenticationError.badMAC(.replica(0))) { try r1.open(changedHeader) }
            var changedTag = frame
            changedTag[tagOffset] = 3  // now claims to be a PREPARE: the MAC covers other bytes
            #expect(throws: AuthenticationError.badMAC(.replica(0))) { try r1.open(changedTag) }
            _ = cluster.replicas[1].receive(frame: changedBatch)
        }
        #expect(cluster.replicas[1].dropped[.badDigest] == 2)
        #expect(cluster.replicas[1].slots[1] == nil)
    }

    @Test func unknownSendersAreDroppedAndCounted() {
        let stranger = NodeIdentity.deterministic(seed: 99, principal: .client(77))
        var directory = cluster.directory
        directory.clients[77] = stranger.publicIdentity
        let strangerAuth = Authenticator(me: .client(77), identity: stranger, directory: directory,
                                         codec: MessageCodec(replicaCount: 4))
        var request = Request(client: 77, timestamp: 1, operation: [1])
        request.authenticator = strangerAuth.requestAuthenticator(for: request.digest, replicaCount: 4)
        let frame = strangerAuth.seal(.request(request), to: [.replica(0)])
        var replica = cluster.replicas[0]
        #expect(replica.receive(frame: frame).isEmpty)
        #expect(replica.dropped[.unknownSender] == 1)
    }

    @Test func signaturesAndCertificatesVerify() {
        let auths = (0..<4).map { cluster.authenticator(forReplica: $0) }
        let digest = Digest.of([1, 2, 3])
        let checkpoints = (0..<3).map { auths[$0].signed(Checkpoint(sequence: 4, stateDigest: digest, replica: $0)) }
        #expect(checkpoints.allSatisfy { auths[3].verify($0) })
        let certificate = CheckpointCertificate(sequence: 4, stateDigest: digest, checkpoints: checkpoints)
        #expect(auths[3].verify(certificate, quorum: 3))
        // Too few signers, a duplicated signer, or a forged signature all fail.
        #expect(!auths[3].verify(CheckpointCertificate(sequence: 4, stateDigest: digest, checkpoints: Array(checkpoints.prefix(2))), quorum: 3))
        #expect(!auths[3].verify(CheckpointCertificate(sequence: 4, stateDigest: digest,
                                                       checkpoints: [checkpoints[0], checkpoints[0], checkpoints[1]]), quorum: 3))
        var forged = checkpoints[2]
        forged.stateDigest = Digest.of([9])
        #expect(!auths[3].verify(forged))
    }

    @Test func pairwiseKeysAgreeInBothDirections() throws {
        let client = cluster.authenticator(forClient: 1)
        let replica = cluster.authenticator(forReplica: 2)
        let request = Request(client: 1, timestamp: 1, operation: [7])
        var authed = request
        authed.authenticator = client.requestAuthenticator(for: request.digest, replicaCount: 4)
        #expect(replica.verifyRequest(authed, digest: authed.digest))
        var tampered = authed
        tampered.operation = [8]
        #expect(!replica.verifyRequest(tampered, digest: tampered.digest))
    }

    /// Garbage and bit flips in frames are dropped and counted, never trapped on.
    @Test func mutatedFramesNeverCrashAReplica() {
        var cluster = TestCluster()
        cluster.submit("x")
        var frames: [[UInt8]] = []
        while !cluster.inFlight.isEmpty {
            let (frame, target) = cluster.inFlight.removeFirst()
            frames.append(frame)
            cluster.deliver(frame, to: target)
        }
        var rng = Xoshiro256(seed: 3)
        var replica = cluster.replicas[2]
        for frame in frames {
            for _ in 0..<50 {
                var mutated = frame
                let flips = Int(rng.between(1, 3))
                for _ in 0..<flips {
                    mutated[Int(rng.below(UInt64(mutated.count)))] ^= UInt8(truncatingIfNeeded: rng.between(1, 255))
                }
                if rng.chance(0.2) { mutated = Array(mutated.prefix(Int(rng.below(UInt64(mutated.count))))) }
                _ = replica.receive(frame: mutated)
            }
        }
        #expect(replica.dropped.values.reduce(0, +) > 0)
    }
}
