import Testing
@testable import MeshDB

@Suite struct TransportFrameTests {
    @Test func framesSurviveArbitrarySplits() throws {
        let frames = [
            TransportFrame(kind: .hello, payload: Array(0..<97)),
            TransportFrame(kind: .data, payload: []),
            TransportFrame(kind: .data, payload: Array(repeating: 7, count: 1000)),
            TransportFrame(kind: .refuse, payload: Array("no".utf8)),
        ]
        let stream = frames.flatMap { $0.encoded() }
        for split in stride(from: 0, through: stream.count, by: 7) {
            var reader = TransportFrameReader(frameBytesMax: 4096)
            var decoded: [TransportFrame] = []
            reader.append(stream[..<split])
            while let frame = try reader.next() { decoded.append(frame) }
            reader.append(stream[split...])
            while let frame = try reader.next() { decoded.append(frame) }
            #expect(decoded == frames)
            #expect(reader.bufferedBytes == 0)
        }
    }

    @Test func oversizedFrameIsRefusedBeforeItIsBuffered() {
        var reader = TransportFrameReader(frameBytesMax: 100)
        reader.append([0, 0, 0x10, 0, TransportFrame.version, 16])   // claims 4096 bytes
        #expect(throws: TransportError.frameTooLarge(bytes: 4096, limit: 100)) { try reader.next() }
    }

    @Test func badVersionKindAndLengthAreErrors() {
        var version = TransportFrameReader(frameBytesMax: 100)
        version.append([0, 0, 0, 2, 9, 16])
        #expect(throws: TransportError.unsupportedVersion(9)) { try version.next() }
        var kind = TransportFrameReader(frameBytesMax: 100)
        kind.append([0, 0, 0, 2, TransportFrame.version, 99])
        #expect(throws: TransportError.unknownKind(99)) { try kind.next() }
        var short = TransportFrameReader(frameBytesMax: 100)
        short.append([0, 0, 0, 1, 1])
        #expect(throws: TransportError.frameTooShort(bytes: 1)) { try short.next() }
    }

    /// Random bytes end in an error or in frames, never in a crash or an unbounded buffer.
    @Test func randomBytesNeverCrashTheReader() {
        var random = SeededBytes(seed: 99)
        for _ in 0..<5000 {
            var reader = TransportFrameReader(frameBytesMax: 1 << 16)
            let length = Int(random.next() % 300)
            reader.append(random.bytes(length))
            while true {
                guard let frame = try? reader.next() else { break }
                #expect(frame.payload.count <= 1 << 16)
            }
        }
    }
}
