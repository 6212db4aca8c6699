import CLZ4

/// LZ4 block compression (liblz4's LZ4_compress_default / LZ4_decompress_safe). The block
/// format does not carry the original size: the chunk header does.
enum LZ4Block {
    /// Largest input the block format accepts (LZ4_MAX_INPUT_SIZE).
    static let inputBytesMax = 0x7E00_0000

    /// The most bytes LZ4 can produce for `plainBytes` of input (LZ4_compressBound).
    static func compressedBytesMax(plainBytes: Int) -> Int {
        plainBytes <= inputBytesMax ? Int(LZ4_compressBound(Int32(plainBytes))) : 0
    }

    /// The compressed bytes, or nil when they would not be smaller than the input.
    static func compressIfSmaller(_ input: [UInt8]) -> [UInt8]? {
        guard !input.isEmpty, input.count <= inputBytesMax else { return nil }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        // Uninitialized: LZ4 writes every byte it reports, and zeroing a chunk's worth first
        // would cost as much as copying it.
        var written: Int32 = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { destination, count in
            written = input.withUnsafeBytes { source in
                LZ4_compress_default(
                    source.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UnsafeMutableRawPointer(destination.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(bound))
            }
            count = max(Int(written), 0)
        }
        guard written > 0, Int(written) < input.count else { return nil }
        return output
    }

    /// Decompresses into exactly `originalBytes` bytes; nil when the input is damaged.
    static func decompress(_ input: ArraySlice<UInt8>, originalBytes: Int) -> [UInt8]? {
        guard originalBytes > 0, originalBytes <= inputBytesMax, !input.isEmpty else { return nil }
        var produced: Int32 = 0
        // Uninitialized, as in compressIfSmaller: only the bytes LZ4 produced are kept.
        let output = [UInt8](unsafeUninitializedCapacity: originalBytes) { destination, count in
            produced = input.withUnsafeBytes { source in
                LZ4_decompress_safe(
                    source.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UnsafeMutableRawPointer(destination.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(originalBytes))
            }
            count = max(Int(produced), 0)
        }
        return Int(produced) == originalBytes ? output : nil
    }
}
