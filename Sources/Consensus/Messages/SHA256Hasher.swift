internal import CLibCrypto

/// SHA-256 (FIPS 180-4) as a plain value whose rounds are OpenSSL's block function (SHA-NI or
/// AVX2 where the CPU has them). Creating, copying, updating and finishing a hash allocate
/// nothing.
///
/// Why not swift-crypto's `SHA256`: it keeps its context in a class, so every hash is a heap
/// allocation, every copy of a running hash (the HMAC pad states) another one on first update,
/// and every update a dynamic exclusivity check. Why not OpenSSL's `SHA256_Update`/`_Final` for
/// everything: they are general (any length, a cleanse of the buffer at the end), and for the
/// one- and two-block inputs of the normal case — a digest, a request, a reply — that wrapper
/// cost as much as the rounds. With the 40-odd small hashes and MACs a request costs across a
/// client and four replicas, both overheads weighed more than SHA-256 itself
/// (docs/BENCHMARKS.md, "PBFT ordering"). So this keeps the message framing — buffering to
/// 64-byte blocks and the padding of FIPS 180-4 §5.1.1 — and hands OpenSSL whole blocks only.
/// HashingTests checks the result against swift-crypto around every block and padding edge.
struct SHA256Hasher {
    /// The chaining value is `context.h`: whole blocks go through `SHA256_Transform` (one
    /// block) or `SHA256_Update` (whole blocks only, so its own buffer stays empty); nothing
    /// else in the context is used.
    private var context = SHA256_CTX()
    /// Input not yet making a whole block.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var byteCount: UInt64 = 0

    init() {
        // Only sets the initial hash value; it has no failure path.
        SHA256_Init(&context)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var next = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        byteCount &+= UInt64(remaining)
        if pendingCount > 0 {
            let taken = min(64 - pendingCount, remaining)
            let at = pendingCount
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: at).copyMemory(from: next, byteCount: taken) }
            pendingCount += taken
            next += taken
            remaining -= taken
            guard pendingCount == 64 else { return }
            withUnsafeBytes(of: pending) { SHA256_Transform(&context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            pendingCount = 0
        }
        let whole = remaining & ~63
        if whole > 0 {
            _ = SHA256_Update(&context, next, whole)
            next += whole
            remaining -= whole
        }
        if remaining > 0 {
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: next, byteCount: remaining) }
            pendingCount = remaining
        }
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
        var state = context
        var last = pending
        let bitCount = byteCount &* 8
        withUnsafeMutableBytes(of: &last) { block in
            // FIPS 180-4 §5.1.1: a 1 bit, zeros up to 56 bytes mod 64, the length in bits (u64,
            // big-endian); a second block when the first has no room for the length.
            block[pendingCount] = 0x80
            UnsafeMutableRawBufferPointer(rebasing: block[(pendingCount + 1)...]).initializeMemory(as: UInt8.self, repeating: 0)
            let words = block.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if pendingCount >= 56 {
                SHA256_Transform(&state, words)
                UnsafeMutableRawBufferPointer(rebasing: block[..<56]).initializeMemory(as: UInt8.self, repeating: 0)
            }
            block.storeBytes(of: bitCount.bigEndian, toByteOffset: 56, as: UInt64.self)
            SHA256_Transform(&state, words)
        }
        return Self.digest(of: state.h)
    }

    /// A hash resumed from a midstate (HMAC's pad states).
    init(resuming midstate: SHA256Midstate) {
        context.h = midstate.chainingValue
        byteCount = midstate.byteCount
    }

    /// Where the hash stands after whole blocks: nothing may be pending.
    var midstate: SHA256Midstate {
        precondition(pendingCount == 0, "a midstate is taken at a block boundary")
        return SHA256Midstate(chainingValue: context.h, byteCount: byteCount)
    }

    /// SHA-256 of a message made of the whole blocks behind `midstate` and then `digest`: one
    /// block, built on the stack — the shape of both halves of an HMAC over a digest, the most
    /// frequent hash of the normal case.
    static func finish(_ midstate: SHA256Midstate, appending digest: Digest) -> Digest {
        var context = SHA256_CTX()
        context.h = midstate.chainingValue
        var block: (Digest, UInt64, UInt64, UInt64, UInt64) = (digest, UInt64(0x80).littleEndian, 0, 0, 0)
        withUnsafeMutableBytes(of: &block) { raw in
            // FIPS 180-4 §5.1.1: the 32 bytes, a 1 bit (0x80 is the low byte of the little-endian
            // word after them), zeros, then the length in bits, big-endian, in the last 8 bytes.
            raw.storeBytes(of: ((midstate.byteCount &+ 32) &* 8).bigEndian, toByteOffset: 56, as: UInt64.self)
            SHA256_Transform(&context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return Self.digest(of: context.h)
    }

    /// The digest of a chaining value: h0...h7, each big-endian.
    private static func digest(of h: SHA256Midstate.ChainingValue) -> Digest {
        #if _endian(little)
        // Digest's words are the bytes loaded in native order: two big-endian u32s per word.
        func word(_ first: UInt32, _ second: UInt32) -> UInt64 {
            UInt64(first.bigEndian) | UInt64(second.bigEndian) << 32
        }
        return Digest(w0: word(h.0, h.1), w1: word(h.2, h.3), w2: word(h.4, h.5), w3: word(h.6, h.7))
        #else
        return withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
            withUnsafeBytes(of: h) { words in
                for i in 0..<8 {
                    out.storeBytes(of: words.load(fromByteOffset: 4 * i, as: UInt32.self).bigEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
            return Digest(bytes: UnsafeRawBufferPointer(out))
        }
        #endif
    }

    /// SHA-256 of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// A SHA-256 computation stopped at a block boundary: the chaining value and the bytes hashed.
/// An HMAC key's pad states are two of these (40 bytes each, copied freely).
struct SHA256Midstate {
    typealias ChainingValue = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    var chainingValue: ChainingValue
    var byteCount: UInt64
}
