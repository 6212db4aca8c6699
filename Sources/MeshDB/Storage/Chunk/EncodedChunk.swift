/// A chunk as it rests in a chunk file and travels to the R nodes that store it: its encoding,
/// its plain length and the payload (the plain bytes, or their LZ4 block). The writer compresses
/// once and every node stores the payload as it came, after decoding it and checking its hash
/// (`ChunkStore.put(_: EncodedChunk)`): R - 1 compressions saved per chunk, and compressible data
/// crosses the network compressed.
public struct EncodedChunk: Sendable, Hashable {
    public let encoding: ChunkStore.Encoding
    public let plainBytes: Int
    public let payload: [UInt8]

    /// LZ4 when it shrinks the bytes, raw otherwise (the chunk store's own rule).
    public init(plain: [UInt8]) {
        if let compressed = LZ4Block.compressIfSmaller(plain) {
            self.init(unchecked: .lz4, plainBytes: plain.count, payload: compressed)
        } else {
            self.init(unchecked: .raw, plainBytes: plain.count, payload: plain)
        }
    }

    /// As decoded from the wire: nothing is checked until `plain()`.
    init(unchecked encoding: ChunkStore.Encoding, plainBytes: Int, payload: [UInt8]) {
        self.encoding = encoding
        self.plainBytes = plainBytes
        self.payload = payload
    }

    /// The plain bytes, or why the payload does not give `plainBytes` of them. An LZ4 payload must
    /// be smaller than its plain bytes, as one the store compressed itself is, so that a stored
    /// copy keeps the size rule that tells damaged copies from intact ones.
    public func plain() -> Result<[UInt8], Malformed> {
        switch encoding {
        case .raw:
            guard payload.count == plainBytes else {
                return .failure(Malformed(reason: "raw payload of \(payload.count) bytes for \(plainBytes) plain bytes"))
            }
            return .success(payload)
        case .lz4:
            guard payload.count < plainBytes else {
                return .failure(Malformed(reason: "LZ4 payload of \(payload.count) bytes is not smaller than its \(plainBytes) plain bytes"))
            }
            guard let plain = LZ4Block.decompress(payload[...], originalBytes: plainBytes) else {
                return .failure(Malformed(reason: "LZ4 payload does not decode to \(plainBytes) bytes"))
            }
            return .success(plain)
        }
    }

    public struct Malformed: Error, Sendable, Hashable {
        public let reason: String
    }
}
