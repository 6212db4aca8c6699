public import Crypto

/// A node's long-term keys: Ed25519 for signatures a third party checks (checkpoint, view
/// change, new view certificates) and X25519 from which pairwise MAC keys are derived.
public struct NodeIdentity {
    public let signingKey: Curve25519.Signing.PrivateKey
    public let agreementKey: Curve25519.KeyAgreement.PrivateKey

    public init(signingKey: Curve25519.Signing.PrivateKey, agreementKey: Curve25519.KeyAgreement.PrivateKey) {
        self.signingKey = signingKey
        self.agreementKey = agreementKey
    }

    /// Keys derived from a seed, for the simulator and tests only: a run is then reproducible.
    public static func deterministic(seed: UInt64, principal: Principal) -> NodeIdentity {
        func derive(_ purpose: String) -> [UInt8] {
            var w = ByteWriter()
            w.writeRaw(Array("meshdb-sim-key-\(purpose)-\(principal)".utf8))
            w.write(seed)
            return Digest.of(w.bytes).bytes
        }
        // 32 bytes is the raw size of both key kinds, so these initialisers cannot fail.
        let signing = try! Curve25519.Signing.PrivateKey(rawRepresentation: derive("sign"))
        let agreement = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: derive("agree"))
        return NodeIdentity(signingKey: signing, agreementKey: agreement)
    }

    public var publicIdentity: PublicIdentity {
        PublicIdentity(signingKey: signingKey.publicKey, agreementKey: agreementKey.publicKey)
    }
}

/// What every node knows about another: its public keys.
public struct PublicIdentity {
    public let signingKey: Curve25519.Signing.PublicKey
    public let agreementKey: Curve25519.KeyAgreement.PublicKey

    public init(signingKey: Curve25519.Signing.PublicKey, agreementKey: Curve25519.KeyAgreement.PublicKey) {
        self.signingKey = signingKey
        self.agreementKey = agreementKey
    }
}

/// The public keys of the group's replicas (index = replica) and of the clients allowed in.
public struct KeyDirectory {
    public var replicas: [PublicIdentity]
    public var clients: [UInt64: PublicIdentity]

    public init(replicas: [PublicIdentity], clients: [UInt64: PublicIdentity]) {
        self.replicas = replicas
        self.clients = clients
    }

    public func identity(of principal: Principal) -> PublicIdentity? {
        switch principal {
        case .replica(let index): replicas.indices.contains(index) ? replicas[index] : nil
        case .client(let id): clients[id]
        }
    }
}

/// HMAC-SHA256 with the padded-key hash states computed once per key pair, so that a MAC costs
/// no key schedule (RFC 2104). The states are midstates (`SHA256Midstate`): a MAC allocates and
/// copies almost nothing, and a MAC over a digest is two single-block compressions.
struct MACKey {
    private let inner: SHA256Midstate
    private let outer: SHA256Midstate

    init(key: [UInt8]) {
        precondition(key.count <= 64, "HMAC keys longer than a block are hashed first; ours are 32 bytes")
        let padded = key + [UInt8](repeating: 0, count: 64 - key.count)
        var innerHash = SHA256Hasher()
        innerHash.update(padded.map { $0 ^ 0x36 })
        var outerHash = SHA256Hasher()
        outerHash.update(padded.map { $0 ^ 0x5c })
        inner = innerHash.midstate
        outer = outerHash.midstate
    }

    /// HMAC over a whole (short) message, for frames with a single recipient: cheaper than
    /// hashing the body first and MACing the hash.
    func mac(bytes: UnsafeRawBufferPointer) -> Digest {
        var i = SHA256Hasher(resuming: inner)
        i.update(bytes)
        return SHA256Hasher.finish(outer, appending: i.finalize())
    }

    func mac(_ digest: Digest) -> Digest {
        SHA256Hasher.finish(outer, appending: SHA256Hasher.finish(inner, appending: digest))
    }
}
