import Testing
import QueryPlanner
@testable import MeshWire

@Suite struct FrontendFrameReaderTests {
    func int32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    @Test func cutsStartupThenTypedMessagesAcrossArbitrarySplits() throws {
        let startup = int32(8) + int32(196_608)                       // protocol 3.0, no parameters
        let query = [UInt8(ascii: "Q")] + int32(4 + 9) + Array("SELECT 1\0".utf8)
        let stream = startup + query
        for split in 0...stream.count {
            var reader = FrontendFrameReader()
            reader.append(stream[..<split])
            var frames: [FrontendFrameReader.Frame] = []
            if let frame = try reader.next() { frames.append(frame); reader.startupCompleted() }
            reader.append(stream[split...])
            while let frame = try reader.next() {
                frames.append(frame)
                reader.startupCompleted()
            }
            #expect(frames == [
                .init(type: nil, body: int32(196_608)),
                .init(type: UInt8(ascii: "Q"), body: Array("SELECT 1\0".utf8)),
            ])
        }
    }

    @Test func oversizedMessageNamesTheLimit() {
        var reader = FrontendFrameReader(messageBytesMax: 64)
        reader.startupCompleted()
        reader.append([UInt8(ascii: "Q")] + int32(1000))
        #expect(throws: SQLError.self) { try reader.next() }
        do { _ = try reader.next() } catch {
            #expect(error.state == .protocolViolation)
            #expect(error.message.contains("max_message_bytes = 64"))
        }
    }

    @Test func lengthSmallerThanItselfIsAViolation() {
        var reader = FrontendFrameReader()
        reader.append(int32(3))
        #expect(throws: SQLError.self) { try reader.next() }
    }
}
