import QueryPlanner
import Testing
@testable import MeshWire

/// Byte layouts of "Message Formats" in the PostgreSQL documentation.
@Suite struct BackendMessageTests {
    func int32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    @Test func errorResponseCarriesSeverityCodeMessagePositionAndHint() {
        let error = SQLError(.syntaxError, "bad", position: 12, hint: "try again")
        let fields = Array("SERROR\0VERROR\0C42601\0Mbad\0P12\0Htry again\0\0".utf8)
        #expect(BackendMessage.errorResponse(error).encoded == [UInt8(ascii: "E")] + int32(4 + fields.count) + fields)
        let fatal = Array("SFATAL\0VFATAL\0C08P01\0Mx\0\0".utf8)
        #expect(BackendMessage.errorResponse(SQLError(.protocolViolation, "x"), fatal: true).encoded
            == [UInt8(ascii: "E")] + int32(4 + fatal.count) + fatal)
        let notice = Array("SNOTICE\0VNOTICE\0C00000\0Mhi\0\0".utf8)
        #expect(BackendMessage.noticeResponse(SQLError(SQLState("00000"), "hi")).encoded
            == [UInt8(ascii: "N")] + int32(4 + notice.count) + notice)
    }

    @Test func rowDescriptionAndDataRow() {
        let description = BackendMessage.rowDescription([.init(name: "a", type: .int4, format: 1)]).encoded
        let body: [UInt8] = [0, 1] + Array("a\0".utf8) + int32(0) + [0, 0] + int32(23) + [0, 4] + int32(-1) + [0, 1]
        #expect(description == [UInt8(ascii: "T")] + int32(4 + body.count) + body)
        let row = BackendMessage.dataRow([[7], nil]).encoded
        #expect(row == [UInt8(ascii: "D")] + int32(4 + 2 + 4 + 1 + 4) + [0, 2] + int32(1) + [7] + int32(-1))
    }

    @Test func authenticationAndReadyForQuery() {
        #expect(BackendMessage.authentication(.ok).encoded == [UInt8(ascii: "R")] + int32(8) + int32(0))
        let sasl = BackendMessage.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])).encoded
        #expect(sasl == [UInt8(ascii: "R")] + int32(4 + 4 + 14 + 1) + int32(10) + Array("SCRAM-SHA-256\0\0".utf8))
        #expect(BackendMessage.readyForQuery(.inTransaction).encoded == [UInt8(ascii: "Z"), 0, 0, 0, 5, UInt8(ascii: "T")])
        #expect(BackendMessage.encryptionResponse(accepted: false).encoded == [UInt8(ascii: "N")])
        #expect(BackendMessage.copyInResponse(.init(columnCount: 2)).encoded == [UInt8(ascii: "G")] + int32(4 + 1 + 2 + 4) + [0, 0, 2, 0, 0, 0, 0])
    }

    @Test func frontendMessagesRoundTrip() throws {
        let messages: [FrontendMessage] = [
            .query("SELECT 1"), .parse(statement: "s", query: "SELECT $1", parameterTypes: [23]),
            .bind(.init(portal: "p", statement: "s", parameterFormats: [1], parameters: [[0, 0, 0, 1], nil], resultFormats: [0, 1])),
            .describe(.portal, name: "p"), .execute(portal: "p", rowLimit: 10), .sync, .flush, .close(.statement, name: "s"),
            .terminate, .copyData([1, 2, 3]), .copyDone, .copyFail("why"),
        ]
        for message in messages {
            var reader = FrontendFrameReader()
            reader.startupCompleted()
            reader.append(message.encoded)
            let frame = try #require(try reader.next())
            #expect(try FrontendMessage.decode(frame) == message)
        }
        var reader = FrontendFrameReader()
        reader.append(FrontendMessage.startup(parameters: [("user", "u"), ("database", "d")]).encoded)
        #expect(try FrontendMessage.decode(try #require(try reader.next())) == .startup(parameters: [("user", "u"), ("database", "d")]))
    }
}
