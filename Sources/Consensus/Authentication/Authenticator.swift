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
/// Signed messages (checkpoint, view change, new view) additionally carry Ed25519 signatures.
public struct Authenticator {
    public let me: Principal
    public let codec: MessageCodec
    private let identity: NodeIdentity
    private let directory: KeyDirectory
    private let macKeys: [Principal: MACKey]

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
        macKeys = keys
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

    // MARK: Frames

    public func seal(_ message: Message, to recipients: [Principal]) -> [UInt8] {
        var body = ByteWriter(capacity: 256)
        codec.write(me, &body)
        codec.encode(message, into: &body)
        let bodyDigest = Digest.of(body.bytes)
        var frame = ByteWriter(capacity: body.bytes.count + 8 + 41 * recipients.count)
        frame.writeBytes(body.bytes)
        frame.write(UInt8(recipients.count))
        for recipient in recipients {
            codec.write(recipient, &frame)
            frame.write(macKeys[recipient]?.mac(bodyDigest) ?? .zero)
        }
        return frame.bytes
    }

    /// Checks the sender and our MAC entry before decoding the message, so that garbage from an
    /// unauthenticated peer costs one hash.
    public func open(_ bytes: [UInt8]) throws(AuthenticationError) -> (sender: Principal, message: Message) {
        do {
            var reader = ByteReader(bytes)
            let body = try reader.readBytes("frame body", limit: codec.limits.snapshotBytesMax + 1024)
            let entryCount = Int(try reader.readU8("frame MAC count"))
            var ours: Digest?
            for _ in 0..<entryCount {
                let recipient = try codec.readPrincipal(&reader, "frame MAC recipient")
                let mac = try reader.readDigest("frame MAC")
                if recipient == me { ours = mac }
            }
            try reader.finish()
            var bodyReader = ByteReader(body)
            let sender = try codec.readPrincipal(&bodyReader, "frame sender")
            guard let key = macKeys[sender] else { throw AuthenticationError.unknownSender(sender) }
            guard let ours else { throw AuthenticationError.notAddressedToUs }
            guard key.mac(Digest.of(body)) == ours else { throw AuthenticationError.badMAC(sender) }
            let message = try codec.decode(&bodyReader)
            try bodyReader.finish()
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
        (0..<replicaCount).map { macKeys[.replica($0)]?.mac(digest) ?? .zero }
    }

    /// Whether the request's MAC for this replica is right.
    public func verifyRequest(_ request: Request, digest: Digest) -> Bool {
        guard case .replica(let index) = me, index < request.authenticator.count,
            let key = macKeys[.client(request.client)]
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
