public import Crypto

/// A SHA-256 value held as four words, so that it hashes and compares without allocating.
/// Used for request, batch and state digests (OSDI'99 §4.2: messages carry D(m), not m) and
/// for MACs. `Comparable` gives a deterministic order for encoding sorted sets.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The all-zero digest; never the SHA-256 of anything in practice.
    public static let zero = Digest(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(_ sha: SHA256.Digest) {
        self = sha.withUnsafeBytes { Digest(bytes: $0) }
    }

    /// The words of 32 hash bytes, loaded in native order.
    init(bytes raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32, "a SHA-256 value is 32 bytes")
        self.init(
            w0: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            w1: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            w2: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            w3: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// SHA-256 of `bytes`.
    public static func of(_ bytes: [UInt8]) -> Digest {
        bytes.withUnsafeBytes { SHA256Hasher.hash($0) }
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }

    /// The 32 bytes in the order they were hashed out.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            withUnsafeBytes(of: word) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Feeds the 32 bytes into a running hash.
    public func feed(into hasher: inout SHA256) {
        withUnsafeBytes(of: (w0, w1, w2, w3)) { hasher.update(bufferPointer: $0) }
    }

    public var description: String {
        String(w0.byteSwapped, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
