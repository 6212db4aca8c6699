internal import CLibCrypto

/// SHA-256 as a plain value: OpenSSL's context (112 bytes) lives inside the struct, so creating,
/// copying, updating and finishing a hash allocate nothing.
///
/// Why not swift-crypto's `SHA256`: it keeps its context in a class, so every hash is a heap
/// allocation, every copy of a running hash (the HMAC pad states) another one on first update,
/// and every update a dynamic exclusivity check; with the 40-odd small hashes and MACs a request
/// costs across a client and four replicas, that overhead weighed more than the SHA-256 rounds
/// themselves (docs/BENCHMARKS.md, "PBFT ordering"). The output is the same standard SHA-256
/// (CodecTests checks it against swift-crypto). swift-crypto still does Ed25519 and X25519.
struct SHA256Hasher {
    private var context = SHA256_CTX()

    init() {
        // Only sets the initial hash value; it has no failure path.
        SHA256_Init(&context)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32 bytes of a digest, in the order they were hashed out.
    mutating func update(_ digest: Digest) {
        withUnsafeBytes(of: (digest.w0, digest.w1, digest.w2, digest.w3)) { update($0) }
    }

    /// The digest of everything fed so far. The hash itself is left as it was, so a copy of a
    /// running hash (an HMAC pad state) can be finished many times.
    func finalize() -> Digest {
        var finishing = context
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { out in
            _ = SHA256_Final(out.baseAddress!, &finishing)
            return Digest(bytes: UnsafeRawBufferPointer(out))
        }
    }

    /// SHA-256 of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
