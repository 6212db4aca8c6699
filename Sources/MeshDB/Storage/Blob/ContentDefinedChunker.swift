import Crypto

/// Content-defined chunking in the manner of FastCDC (Xia et al., USENIX ATC 2016; TPDS 2020):
/// a boundary falls where a gear hash of the last bytes matches a mask, so it depends on the
/// content around it and not on its offset. Inserting or deleting bytes therefore moves only the
/// boundaries near the edit, and the chunks after it are the same as before: a re-upload or a
/// local edit of a large value dedupes against what is stored.
///
/// Incremental and bounded: `feed` takes the value in buffers of any size and returns the chunks
/// completed so far; at most one unfinished chunk (`Limits.maxBytes`) is held between calls.
/// Pure: no I/O, no clock; the same bytes give the same boundaries on every node and in every
/// release that keeps `gearTable` (changing it would not break correctness, only dedup against
/// chunks stored before).
public struct ContentDefinedChunker: Sendable {
    /// The sizes a chunk may take. FastCDC's normalized chunking (level 2): below `averageBytes`
    /// the mask has two more bits (boundaries are 4× rarer), above it two fewer (4× likelier), so
    /// sizes bunch around the average instead of spreading exponentially.
    public struct Limits: Sendable, Hashable {
        /// No boundary is looked for before this many bytes (FastCDC's cut-point skipping): also
        /// bounds the per-chunk overhead (manifest entry, request, file) relative to its payload.
        public var minBytes: Int
        /// The size chunks bunch around; a power of two.
        public var averageBytes: Int
        /// A boundary is forced here when the content offers none (long runs of equal bytes).
        /// Bounds the memory of chunking and of every transfer window.
        public var maxBytes: Int

        /// 256 KiB / 1 MiB / 4 MiB: ../shared/DESIGN.md's "about 1 MiB".
        public static let standard = Limits(minBytes: 256 << 10, averageBytes: 1 << 20, maxBytes: 4 << 20)

        public init(minBytes: Int, averageBytes: Int, maxBytes: Int) {
            self.minBytes = minBytes
            self.averageBytes = averageBytes
            self.maxBytes = maxBytes
        }

        /// Why these limits cannot chunk, or nil when they can.
        public var problem: String? {
            guard averageBytes >= 64, averageBytes.nonzeroBitCount == 1 else {
                return "chunk_average_bytes must be a power of two of at least 64; got \(averageBytes)"
            }
            guard minBytes >= 1, minBytes < averageBytes else {
                return "chunk_min_bytes must be 1 to chunk_average_bytes - 1 (\(averageBytes - 1)); got \(minBytes)"
            }
            guard maxBytes > averageBytes, maxBytes <= ContentDefinedChunker.maxBytesLimit else {
                return "chunk_max_bytes must be above chunk_average_bytes (\(averageBytes)) and at most \(ContentDefinedChunker.maxBytesLimit); got \(maxBytes)"
            }
            return nil
        }
    }

    /// The largest `Limits.maxBytes` accepted: 64 MiB, the chunk store's default chunk_bytes_max.
    public static let maxBytesLimit = 64 << 20

    public let limits: Limits
    /// Boundary test below the average size: `averageBits + 2` of the hash's top bits are zero.
    private let smallMask: UInt64
    /// Boundary test at and above the average size: `averageBits - 2` top bits are zero.
    private let largeMask: UInt64
    /// The bytes of the chunk in progress (fewer than `limits.maxBytes`).
    private var pending: [UInt8] = []
    private var hash: UInt64 = 0

    public init(limits: Limits = .standard) {
        precondition(limits.problem == nil, limits.problem ?? "")
        self.limits = limits
        let bits = limits.averageBytes.trailingZeroBitCount
        // The top bits of a gear hash depend on the last 64 input bytes, the low ones on the last
        // few only: testing the top bits gives every boundary a 64-byte window of content.
        smallMask = Self.topBits(min(bits + 2, 63))
        largeMask = Self.topBits(max(bits - 2, 1))
        pending.reserveCapacity(limits.maxBytes)
    }

    /// Bytes fed that belong to no returned chunk yet.
    public var pendingBytes: Int { pending.count }

    /// Takes the next bytes of the value; returns the chunks they complete, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            feed(buffer, into: &chunks)
        }
        if handled == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { feed($0, into: &chunks) }
        }
        return chunks
    }

    /// The last chunk: what was fed since the last boundary, or nil when that is nothing (an
    /// empty value has no chunks). The chunker starts over empty afterwards.
    public mutating func finish() -> [UInt8]? {
        defer {
            pending = []
            pending.reserveCapacity(limits.maxBytes)
            hash = 0
        }
        return pending.isEmpty ? nil : pending
    }

    private mutating func feed(_ input: UnsafeBufferPointer<UInt8>, into chunks: inout [[UInt8]]) {
        var start = 0
        while start < input.count {
            if let cut = findBoundary(in: input, from: start) {
                pending.append(contentsOf: input[start..<cut])
                chunks.append(pending)
                pending = []
                pending.reserveCapacity(limits.maxBytes)
                hash = 0
                start = cut
            } else {
                pending.append(contentsOf: input[start...])
                start = input.count
            }
        }
    }

    /// The index in `input` just past the next boundary, or nil when `input` ends first. Advances
    /// `hash` over the bytes it looks at; the chunk so far is `pending` then `input[start...]`.
    private mutating func findBoundary(in input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let gear = Self.gearTable
        var length = pending.count
        var index = start
        // Cut-point skipping: bytes before the minimum size are neither hashed nor tested.
        if length < limits.minBytes {
            let skip = min(limits.minBytes - length, input.count - index)
            index += skip
            length += skip
        }
        var hash = self.hash
        defer { self.hash = hash }
        return gear.withUnsafeBufferPointer { gear -> Int? in
            while index < input.count {
                hash = (hash << 1) &+ gear[Int(input[index])]
                index += 1
                length += 1
                let mask = length < limits.averageBytes ? smallMask : largeMask
                if hash & mask == 0 || length >= limits.maxBytes { return index }
            }
            return nil
        }
    }

    private static func topBits(_ count: Int) -> UInt64 { ~UInt64(0) << UInt64(64 - count) }

    /// 256 pseudo-random 64-bit values, one per byte value: word i is the first 8 bytes
    /// (big-endian) of SHA-256("meshdb gear " + i). Derived rather than pasted so a reader can
    /// check it; fixed forever, since boundaries (and so dedup) depend on it.
    static let gearTable: [UInt64] = (0..<256).map { value in
        let digest = SHA256.hash(data: Array("meshdb gear \(value)".utf8))
        return digest.withUnsafeBytes { raw in raw.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) } }
    }
}
