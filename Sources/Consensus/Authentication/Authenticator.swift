import Crypto

/// Why an incoming frame was dropped. A replica counts these and carries on (STYLE.md §3).
public enum AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(DecodeError)
    case unknownSender(Principal)
    case notAddressedToUs
    case badMAC(Principal)
    case badSignature(what: String, signer: Int)

    public var description: String {
        switch self {
        case .malformed(let error): "malformed frame: \(error)"
        case .unknownSender(let p): "frame from unknown sender \(p)"
        case .notAddressedToUs: "frame carries no MAC for this node"
        case .badMAC(let p): "bad MAC on frame from \(p)"
        case .badSignature(let what, let signer): "bad signature on \(what) from replica \(signer)"
        }
    }
}

/// Seals and opens frames for one node. A frame is `u32 body length | body | MAC entries`, where
/// body = sender principal + message, and each entry is (recipient, HMAC(k_sender,recipient,
/// SHA-256(body))): one encoding serves a multicast, as PBFT's authenticators do (TOCS §3.2).
/// A frame with a single recipient carries HMAC(k, body) instead, which costs less for the many
/// small point-to-point messages (replies, retransmissions).
/// Signed messages (checkpoint, view change, new view) additionally carry Ed25519 signatures.
public struct Authenticator {
    public let me: Principal
    public let codec: MessageCodec
    private let identity: NodeIdentity
    private let directory: KeyDirectory
    /// Pairwise keys with replicas (index = replica) and with clients.
    private let replicaKeys: [MACKey?]
    private let clientKeys: [UInt64: MACKey]

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
        replicaKeys = directory.replicas.indices.map { keys[.replica($0)] }
        var clients: [UInt64: MACKey] = [:]
        for (principal, key) in keys { if case .client(let id) = principal { clients[id] = key } }
        clientKeys = clients
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

    func key(for principal: Principal) -> MACKey? {
        switch principal {
        case .replica(let index): replicaKeys.indices.contains(index) ? replicaKeys[index] : nil
        case .client(let id): clientKeys[id]
        }
    }

    // MARK: Frames

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Digest(hasher.finalize())
    }

    public func seal(_ message: Message, to recipients: [Principal]) -> [UInt8] {
        var bodyEstimate = 256
        if case .prePrepare(let pp) = message {
            // A batch is tens of kilobytes: growing the buffer step by step would copy it repeatedly.
            for request in pp.batch { bodyEstimate += request.encodedByteCount }
        }
        var frame = ByteWriter(capacity: bodyEstimate + 41 * recipients.count)
        frame.write(UInt32(0))  // body length, patched below
        codec.write(me, &frame)
        codec.encode(message, into: &frame)
        let bodyCount = frame.bytes.count - 4
        frame.patch(UInt32(bodyCount), at: 0)
        frame.write(UInt8(recipients.count))
        if recipients.count == 1 {
            // One recipient: MAC the body itself (no array of MACs for the many replies).
            let mac = frame.bytes.withUnsafeBytes { raw in
                key(for: recipients[0])?.mac(bytes: UnsafeRawBufferPointer(rebasing: raw[4..<(4 + bodyCount)])) ?? .zero
            }
            codec.write(recipients[0], &frame)
            frame.write(mac)
            return frame.bytes
        }
        let bodyDigest = frame.bytes.withUnsafeBytes { raw in
            Self.sha256(UnsafeRawBufferPointer(rebasing: raw[4..<(4 + bodyCount)]))
        }
        for recipient in recipients {
            codec.write(recipient, &frame)
            frame.write(key(for: recipient)?.mac(bodyDigest) ?? .zero)
        }
        return frame.bytes
    }

    /// A client request in a frame without frame MACs: the request carries its own
    /// authenticator, one MAC per replica (TOCS §3.2), which every replica checks; a second MAC
    /// on the frame would only repeat it.
    public func sealRequest(_ request: Request, to recipients: [Principal]) -> [UInt8] {
        var body = ByteWriter(capacity: 64 + request.operation.count + 32 * request.authenticator.count)
        codec.write(me, &body)
        codec.encode(.request(request), into: &body)
        var frame = ByteWriter(capacity: body.bytes.count + 8)
        frame.writeBytes(body.bytes)
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
            guard let key = key(for: sender) else { throw AuthenticationError.unknownSender(sender) }
            guard let ours else { throw AuthenticationError.notAddressedToUs }
            let expected = bytes.withUnsafeBytes { raw in
                let body = UnsafeRawBufferPointer(rebasing: raw[4..<bodyEnd])
                return entryCount == 1 ? key.mac(bytes: body) : key.mac(Self.sha256(body))
            }
            guard expected == ours else { throw AuthenticationError.badMAC(sender) }
            let message = try codec.decode(&bodyReader)
            guard bodyReader.offset == bodyEnd else { throw DecodeError.trailingBytes(count: bodyEnd - bodyReader.offset) }
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
        (0..<replicaCount).map { key(for: .replica($0))?.mac(digest) ?? .zero }
    }

    /// Whether the request's MAC for this replica is right.
    public func verifyRequest(_ request: Request, digest: Digest) -> Bool {
        guard case .replica(let index) = me, index < request.authenticator.count,
            let key = clientKeys[request.client]
        else { return false }
        return key.mac(digest) == request.authenticator[index]
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
