import Testing
@testable import MeshDB

/// The PBFT log's record checksum: CRC-32 as zlib and Ethernet compute it, whatever the length
/// and alignment (the eight-byte steps and the byte-wise tail must agree with the plain method).
@Suite struct ReplicaLogChecksumTests {
    /// The plain bit-at-a-time definition, independent of the tables under test.
    static func reference(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test func knownValues() {
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func everyLengthAndOffsetMatchesTheBitwiseDefinition() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for end in start...bytes.count {
                let slice = Array(bytes[start..<end])
                #expect(CRC32.checksum(slice) == Self.reference(slice), "bytes \(start)..<\(end)")
            }
        }
    }
}
