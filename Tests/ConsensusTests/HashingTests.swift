import Crypto
import Testing
@testable import Consensus

/// The hot path hashes with `SHA256Hasher` (OpenSSL's SHA-256 held in a value) instead of
/// swift-crypto; replicas and clients built before and after must agree bit for bit, so both
/// must be the same standard SHA-256 and HMAC-SHA256.
@Suite struct HashingTests {
    /// Lengths around the 64-byte block and the 55/56-byte padding edge, and a long one.
    static let lengths = [0, 1, 31, 32, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4103]

    func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = Xoshiro256(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    @Test func sha256IsSwiftCryptosSHA256() {
        for length in Self.lengths {
            let message = bytes(length, seed: UInt64(length))
            let expected = Consensus.Digest(SHA256.hash(data: message))
            #expect(Consensus.Digest.of(message) == expected, "length \(length)")
            // Fed in two pieces, split anywhere, the result is the same.
            let cut = length / 3
            var hasher = SHA256Hasher()
            hasher.update(Array(message[..<cut]))
            hasher.update(Array(message[cut...]))
            #expect(hasher.finalize() == expected, "length \(length) cut at \(cut)")
            // Finishing leaves the running hash as it was.
            #expect(hasher.finalize() == expected)
            // A byte at a time: every fill level of the pending block.
            var bytewise = SHA256Hasher()
            for byte in message { bytewise.update([byte]) }
            #expect(bytewise.finalize() == expected, "length \(length) fed byte by byte")
        }
    }

    @Test func digestsFedAsWordsHashLikeTheirBytes() {
        let digests = (0..<5).map { Consensus.Digest.of([UInt8($0)]) }
        var hasher = SHA256Hasher()
        for digest in digests { hasher.update(digest) }
        #expect(hasher.finalize() == Consensus.Digest(SHA256.hash(data: digests.flatMap(\.bytes))))
    }

    @Test func macKeyIsHMACSHA256() {
        let keyBytes = bytes(32, seed: 99)
        let key = MACKey(key: keyBytes)
        let reference = SymmetricKey(data: keyBytes)
        for length in Self.lengths {
            let message = bytes(length, seed: 1000 + UInt64(length))
            let expected = digest(HMAC<SHA256>.authenticationCode(for: message, using: reference))
            #expect(message.withUnsafeBytes { key.mac(bytes: $0) } == expected, "length \(length)")
        }
        let hashed = Consensus.Digest.of([7])
        let expected = digest(HMAC<SHA256>.authenticationCode(for: hashed.bytes, using: reference))
        #expect(key.mac(hashed) == expected)
    }

    @Test func batchDigestIsTheHashOfTheTagCountAndRequestDigests() {
        let requests = (0..<3).map { Request(client: 1, timestamp: UInt64($0 + 1), operation: [UInt8($0)]) }
        var w = ByteWriter()
        w.write(UInt8(0x42))
        w.write(UInt32(requests.count))
        for request in requests { w.write(request.digest) }
        #expect(batchDigest(requests) == Consensus.Digest(SHA256.hash(data: w.bytes)))
    }
}

/// The 32 bytes of a swift-crypto MAC as our digest type.
private func digest(_ bytes: some Sequence<UInt8>) -> Consensus.Digest {
    Array(bytes).withUnsafeBytes { Consensus.Digest(bytes: $0) }
}
