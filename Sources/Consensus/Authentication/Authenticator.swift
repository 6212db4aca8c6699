import Crypto

/// Why an incoming frame was dropped. A replica counts these and carries on (STYLE.md §3).
public enum AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(DecodeError)
    case unknownSender(Principal)
    case notAddressedToUs
    case badMAC(Principal)
    /// A pre-prepare whose batch does not hash to the digest its MAC covers.
    case batchDigestMismatch(Principal)
    case badSignature(what: String, signer: Int)

    public var description: String {
        switch self {
        case .malformed(let error): "malformed frame: \(error)"
        case .unknownSender(let p): "frame from unknown sender \(p)"
        case .notAddressedToUs: "frame carries no MAC for this node"
        case .badMAC(let p): "bad MAC on frame from \(p)"
        case .batchDigestMismatch(let p): "pre-prepare from \(p) whose batch does not match its digest"
        case .badSignature(let what, let signer): "bad signature on \(what) from replica \(signer)"
        }
    }
}

/// Seals and opens frames for one node. A frame is `u32 body length | body | MAC entries`, where
/// body = sender principal + message, and each entry is (recipient, HMAC(k_sender,recipient,
/// SHA-256(a)) for the authenticated part a of the body: one encoding serves a multicast, as
/// PBFT's authenticators do (TOCS §3.2). A frame with a single recipient carries HMAC(k, a)
/// instead, which costs less for the many small point-to-point messages (replies,
/// retransmissions).
///
/// The authenticated part is the whole body, except for a pre-prepare: there it ends after the
/// header ⟨PRE-PREPARE, v, n, d⟩, and the batch rides along outside the MAC, as in OSDI'99 §4.2
/// (⟨⟨PRE-PREPARE, v, n, d⟩σp, m⟩). The batch is bound to the header by d, which `open` checks
/// before it returns the message, and each request by its client's own authenticator, which the
/// replica checks; so a backup hashes a batch once (its request digests, taken while decoding)
/// instead of twice (the body for the MAC, then the requests for d).
/// Signed messages (checkpoint, view change, new view) additionally carry Ed25519 signatures.
public struct Authenticator {
    public let me: Principal
    public let codec: MessageCodec
    private let identity: NodeIdentity
    private let directory: KeyDirectory
    /// Pairwise keys with every peer, in one array, found by slot: a replica's slot is at its
    /// index, a client's takes one lookup, and a caller that keeps a client's slot (the
    /// replica's client table) skips even that.
    private let keys: [MACKey]
    /// The slot in `keys` of each replica's key (index = replica; nil for ourselves).
    private let replicaKeySlots: [Int?]
    /// The slot in `keys` of each client's key (only a replica knows clients).
    private let clientKeySlots: [UInt64: Int]

    public init(me: Principal, identity: NodeIdentity, directory: KeyDirectory, codec: MessageCodec) {
        self.me = me
        self.identity = identity
        self.directory = directory
        self.codec = codec
        var keys = [Principal: MACKey]()
        var peers: [Principal] = directory.replicas.indices.map { .replica($0) }
        if case .replica = me { peers += directory.clients.keys.sorted().map { .client($0) } }
        for peer in peers where peer != me {
            guard let theirs = directory.identity(of: peer) else { continue }
            keys[peer] = Self.pairwiseKey(mine: identity, me: me, theirs: theirs, them: peer)
        }
        var slots: [MACKey] = []
        var replicaSlots: [Int?] = []
        var clientSlots: [UInt64: Int] = [:]
        for peer in peers {
            guard let key = keys[peer] else {
                if case .replica = peer { replicaSlots.append(nil) }
                continue
            }
            switch peer {
            case .replica: replicaSlots.append(slots.count)
            case .client(let id): clientSlots[id] = slots.count
            }
            slots.append(key)
        }
        self.keys = slots
        replicaKeySlots = replicaSlots
        clientKeySlots = clientSlots
    }

    /// k(a,b) = HKDF-SHA256(X25519(a, B), info = sorted(a, b)): both ends derive the same key.
    static func pairwiseKey(mine: NodeIdentity, me: Principal, theirs: PublicIdentity, them: Principal) -> MACKey {
        // X25519 only fails for a low-order public key; a directory entry like that is a setup bug.
        let shared = try! mine.agreementKey.sharedSecretFromKeyAgreement(with: theirs.agreementKey)
        var info = ByteWriter()
        let codec = MessageCodec(replicaCount: Int(Int32.max))
        for p in [me, them].sorted() { codec.write(p, &info) }
        let key = shared.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Array("meshdb-pbft-mac".utf8), sharedInfo: info.bytes, outputByteCount: 32)
        return MACKey(key: key.withUnsafeBytes { Array($0) })
    }

    /// Where the key shared with `principal` is in `keys`, if we share one.
    func keySlot(for principal: Principal) -> Int? {
        switch principal {
        case .replica(let index): replicaKeySlots.indices.contains(index) ? replicaKeySlots[index] : nil
        case .client(let id): clientKeySlots[id]
        }
    }

    // MARK: Frames

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> Digest {
        SHA256Hasher.hash(bytes)
    }

    public func seal(_ message: Message, to recipients: [Principal]) -> [UInt8] {
        var frame = ByteWriter(capacity: frameCapacity(message, recipientCount: recipients.count))
        let authenticatedEnd = writeBody(message, &frame)
        frame.write(UInt8(recipients.count))
        if recipients.count == 1 {
            // One recipient: MAC the authenticated part itself (no hash first, for the many replies).
            appendMAC(for: recipients[0], keySlot: keySlot(for: recipients[0]), authenticatedEnd, &frame)
            return frame.bytes
        }
        let authenticatedDigest = frame.bytes.withUnsafeBytes { raw in
            Self.sha256(UnsafeRawBufferPointer(rebasing: raw[4..<authenticatedEnd]))
        }
        frame.writeFields((MessageCodec.principalByteCount + 32) * recipients.count) { f in
            for recipient in recipients {
                codec.write(recipient, &f)
                f.write(keySlot(for: recipient).map { keys[$0].mac(authenticatedDigest) } ?? .zero)
            }
        }
        return frame.bytes
    }

    /// `seal` to one recipient whose key slot the caller already holds (a replica's replies,
    /// which would otherwise look the client's key up once more per reply).
    func seal(_ message: Message, to recipient: Principal, keySlot: Int?) -> [UInt8] {
        var frame = ByteWriter(capacity: frameCapacity(message, recipientCount: 1))
        let authenticatedEnd = writeBody(message, &frame)
        frame.write(UInt8(1))
        appendMAC(for: recipient, keySlot: keySlot, authenticatedEnd, &frame)
        return frame.bytes
    }

    private func frameCapacity(_ message: Message, recipientCount: Int) -> Int {
        var bodyEstimate = 256
        if case .prePrepare(let pp) = message {
            // A batch is tens of kilobytes: growing the buffer step by step would copy it repeatedly.
            for request in pp.batch { bodyEstimate += request.encodedByteCount }
        }
        return bodyEstimate + 41 * recipientCount
    }

    /// Writes `u32 body length | sender | message` and returns where the authenticated part ends.
    private func writeBody(_ message: Message, _ frame: inout ByteWriter) -> Int {
        frame.write(UInt32(0))  // body length, patched below
        codec.write(me, &frame)
        let authenticatedEnd: Int
        if case .prePrepare(let pp) = message {
            codec.writePrePrepareHeader(pp, &frame)
            authenticatedEnd = frame.bytes.count
            codec.writeBatch(pp.batch, &frame)
        } else {
            codec.encode(message, into: &frame)
            authenticatedEnd = frame.bytes.count
        }
        frame.patch(UInt32(frame.bytes.count - 4), at: 0)
        return authenticatedEnd
    }

    /// The single MAC entry of a one-recipient frame: HMAC over the authenticated part itself
    /// (zero when we share no key with the recipient: it will drop the frame, as it should).
    private func appendMAC(for recipient: Principal, keySlot: Int?, _ authenticatedEnd: Int, _ frame: inout ByteWriter) {
        let mac = keySlot.map { slot in
            frame.bytes.withUnsafeBytes { raw in keys[slot].mac(bytes: UnsafeRawBufferPointer(rebasing: raw[4..<authenticatedEnd])) }
        } ?? .zero
        frame.writeFields(MessageCodec.principalByteCount + 32) { f in
            codec.write(recipient, &f)
            f.write(mac)
        }
    }

    /// A client request in a frame without frame MACs: the request carries its own
    /// authenticator, one MAC per replica (TOCS §3.2), which every replica checks; a second MAC
    /// on the frame would only repeat it.
    public func sealRequest(_ request: Request, to recipients: [Principal]) -> [UInt8] {
        var frame = ByteWriter(capacity: 4 + 10 + request.encodedByteCount + 1)
        frame.write(UInt32(0))  // body length, patched below
        codec.write(me, &frame)
        codec.encode(.request(request), into: &frame)
        frame.patch(UInt32(frame.bytes.count - 4), at: 0)
        frame.write(UInt8(0))
        return frame.bytes
    }

    /// Checks the sender and our MAC entry before decoding the message, so that garbage from an
    /// unauthenticated peer costs one hash.
    public func open(_ bytes: [UInt8]) throws(AuthenticationError) -> (sender: Principal, message: Message) {
        do {
            var reader = ByteReader(bytes)
            let bodyCount = try reader.readCount("frame body", limit: codec.limits.snapshotBytesMax + 1024)
            guard bodyCount <= reader.remaining else {
                throw DecodeError.truncated(field: "frame body", needed: bodyCount, available: reader.remaining)
            }
            let bodyEnd = 4 + bodyCount
            reader = ByteReader(bytes, offset: bodyEnd)
            let entryCount = Int(try reader.readU8("frame MAC count"))
            var ours: Digest?
            for _ in 0..<entryCount {
                let recipient = try codec.readPrincipal(&reader, "frame MAC recipient")
                let mac = try reader.readDigest("frame MAC")
                if recipient == me { ours = mac }
            }
            try reader.finish()
            var bodyReader = ByteReader(bytes, offset: 4)
            let sender = try codec.readPrincipal(&bodyReader, "frame sender")
            if entryCount == 0, case .client = sender {
                // Only a client request may come without frame MACs; its own authenticator is
                // checked by the replica before anything else happens to it.
                let message = try codec.decode(&bodyReader)
                guard bodyReader.offset == bodyEnd else { throw DecodeError.trailingBytes(count: bodyEnd - bodyReader.offset) }
                guard case .request = message else { throw AuthenticationError.notAddressedToUs }
                return (sender, message)
            }
            guard let slot = keySlot(for: sender) else { throw AuthenticationError.unknownSender(sender) }
            guard let ours else { throw AuthenticationError.notAddressedToUs }
            // The tag is inside the authenticated part: a changed tag changes what the MAC covers.
            var authenticatedEnd = bodyEnd
            if bodyReader.offset < bodyEnd, bytes[bodyReader.offset] == MessageCodec.prePrepareTag {
                authenticatedEnd = bodyReader.offset + 1 + MessageCodec.prePrepareHeaderByteCount
                guard authenticatedEnd <= bodyEnd else {
                    throw DecodeError.truncated(field: "pre-prepare header", needed: authenticatedEnd - bodyReader.offset,
                                                available: bodyEnd - bodyReader.offset)
                }
            }
            let expected = bytes.withUnsafeBytes { raw in
                let authenticated = UnsafeRawBufferPointer(rebasing: raw[4..<authenticatedEnd])
                return entryCount == 1 ? keys[slot].mac(bytes: authenticated) : keys[slot].mac(Self.sha256(authenticated))
            }
            guard expected == ours else { throw AuthenticationError.badMAC(sender) }
            let message = try codec.decode(&bodyReader)
            guard bodyReader.offset == bodyEnd else { throw DecodeError.trailingBytes(count: bodyEnd - bodyReader.offset) }
            if case .prePrepare(let pp) = message, batchDigest(pp.batch) != pp.digest {
                // The MAC covered only ⟨PRE-PREPARE, v, n, d⟩: the batch counts only if it is the one d names.
                throw AuthenticationError.batchDigestMismatch(sender)
            }
            return (sender, message)
        } catch let error as DecodeError {
            throw .malformed(error)
        } catch let error as AuthenticationError {
            throw error
        } catch {
            preconditionFailure("only DecodeError and AuthenticationError are thrown here: \(error)")
        }
    }

    // MARK: Request authenticators (client side and replica side)

    /// One MAC per replica over the request digest (TOCS §3.2).
    public func requestAuthenticator(for digest: Digest, replicaCount: Int) -> [Digest] {
        (0..<replicaCount).map { replica in keySlot(for: .replica(replica)).map { keys[$0].mac(digest) } ?? .zero }
    }

    /// Whether the request's MAC for this replica is right.
    public func verifyRequest(_ request: Request, digest: Digest) -> Bool {
        guard let slot = clientKeySlots[request.client] else { return false }
        return verifyRequest(request, digest: digest, keySlot: slot)
    }

    /// `verifyRequest` with the client's key slot already looked up (`keySlot(for:)`).
    func verifyRequest(_ request: Request, keySlot: Int) -> Bool {
        verifyRequest(request, digest: request.digest, keySlot: keySlot)
    }

    private func verifyRequest(_ request: Request, digest: Digest, keySlot: Int) -> Bool {
        guard case .replica(let index) = me, index < request.authenticator.count else { return false }
        return keys[keySlot].mac(digest) == request.authenticator[index]
    }

    // MARK: Signatures

    public func sign(_ bytes: [UInt8]) -> [UInt8] {
        // Ed25519 signing cannot fail for a valid private key.
        Array(try! identity.signingKey.signature(for: bytes))
    }

    public func verify(signature: [UInt8], of bytes: [UInt8], by replica: Int) -> Bool {
        guard directory.replicas.indices.contains(replica) else { return false }
        return directory.replicas[replica].signingKey.isValidSignature(signature, for: bytes)
    }

    public func signed(_ c: Checkpoint) -> Checkpoint {
        var copy = c
        copy.signature = sign(codec.signedBytes(c))
        return copy
    }

    public func signed(_ v: ViewChange) -> ViewChange {
        var copy = v
        copy.signature = sign(codec.signedBytes(v))
        return copy
    }

    public func signed(_ n: NewView) -> NewView {
        var copy = n
        copy.signature = sign(codec.signedBytes(n))
        return copy
    }

    public func verify(_ c: Checkpoint) -> Bool {
        verify(signature: c.signature, of: codec.signedBytes(c), by: c.replica)
    }

    public func verify(_ v: ViewChange) -> Bool {
        verify(signature: v.signature, of: codec.signedBytes(v), by: v.replica)
    }

    public func verify(_ n: NewView) -> Bool {
        verify(signature: n.signature, of: codec.signedBytes(n), by: n.replica)
    }

    /// A stable-checkpoint proof: genesis, or 2f+1 valid signatures from distinct replicas on
    /// the same (n, d) (OSDI'99 §4.3).
    public func verify(_ certificate: CheckpointCertificate, quorum: Int) -> Bool {
        if certificate.isGenesis { return true }
        var signers = Set<Int>()
        for c in certificate.checkpoints {
            guard c.sequence == certificate.sequence, c.stateDigest == certificate.stateDigest,
                !signers.contains(c.replica), verify(c)
            else { return false }
            signers.insert(c.replica)
        }
        return signers.count >= quorum
    }
}

extension Authenticator {
    /// The sender and message of a frame without checking any MAC: for the simulator's
    /// Byzantine replicas, which rewrite their own frames, and for cheap early drops of
    /// messages that would be ignored anyway. Never trust what it returns.
    func peek(_ frame: [UInt8]) -> (sender: Principal, message: Message)? {
        var reader = ByteReader(frame)
        guard let bodyCount = try? reader.readU32("frame body"), Int(bodyCount) <= reader.remaining else {
            return nil
        }
        var bodyReader = ByteReader(frame, offset: 4)
        guard let sender = try? codec.readPrincipal(&bodyReader, "frame sender"),
            let message = try? codec.decode(&bodyReader)
        else { return nil }
        return (sender, message)
    }

    /// The timestamp of a reply frame, read from its fixed-position header without decoding the
    /// result: for a client's cheap drop of replies it would ignore anyway. Never trust it.
    func peekReplyTimestamp(_ frame: [UInt8]) -> UInt64? {
        var reader = ByteReader(frame)
        guard let bodyCount = try? reader.readU32("frame body"), Int(bodyCount) <= reader.remaining,
            (try? codec.readPrincipal(&reader, "frame sender")) != nil,
            (try? reader.readU8("message tag")) == 5,
            (try? reader.readU64("reply view")) != nil
        else { return nil }
        return try? reader.readU64("reply timestamp")
    }
}
