import Foundation
import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

@Suite struct WireValueCodecTests {
    /// The fast path of text decoding's trim gives what Foundation's does, for values with and
    /// without ASCII, Unicode and control whitespace at either end.
    @Test func trimmingWhitespaceMatchesFoundation() {
        let pieces = ["", " ", "\t", "\n", "\u{00A0}", "\u{3000}", "x", "42", "-7", "é", "a b", "\u{1F600}"]
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = a + b + c
                    #expect(WireValueCodec.trimmingWhitespace(text, utf8: Array(text.utf8)) == text.trimmingCharacters(in: .whitespaces),
                            "\(Array(text.unicodeScalars))")
                }
            }
        }
    }

    @Test func integersAndFloatsInBothFormats() throws {
        #expect(WireValueCodec.encode(.integer(-2), as: .int4, format: 1) == [0xFF, 0xFF, 0xFF, 0xFE])
        #expect(WireValueCodec.encode(.integer(258), as: .int2, format: 1) == [1, 2])
        #expect(WireValueCodec.encode(.real(1.0), as: .float8, format: 0) == Array("1".utf8))
        #expect(WireValueCodec.encode(.real(0.1), as: .float8, format: 0) == Array("0.1".utf8))
        #expect(WireValueCodec.encode(.null, as: .int8, format: 1) == nil)
        for type in [WireType.int2, .int4, .int8] {
            let bytes = WireValueCodec.encode(.integer(-300), as: type, format: 1)!
            #expect(try WireValueCodec.decode(bytes, as: type, format: 1, parameter: 1) == .integer(-300))
        }
        let float = WireValueCodec.encode(.real(2.5), as: .float4, format: 1)!
        #expect(try WireValueCodec.decode(float, as: .float4, format: 1, parameter: 1) == .real(2.5))
        #expect(try WireValueCodec.decode(Array(" 42 ".utf8), as: .int4, format: 0, parameter: 1) == .integer(42))
        #expect(throws: SQLError.self) { try WireValueCodec.decode([1, 2, 3], as: .int4, format: 1, parameter: 1) }
    }

    @Test func boolTextAndBytea() throws {
        #expect(WireValueCodec.encode(.integer(1), as: .bool, format: 0) == Array("t".utf8))
        #expect(WireValueCodec.encode(.integer(0), as: .bool, format: 1) == [0])
        #expect(try WireValueCodec.decode(Array("true".utf8), as: .bool, format: 0, parameter: 1) == .integer(1))
        #expect(WireValueCodec.encode(.blob([0x0A, 0xFF]), as: .bytea, format: 0) == Array("\\x0aff".utf8))
        #expect(try WireValueCodec.decode(Array("\\x0AfF".utf8), as: .bytea, format: 0, parameter: 1) == .blob([0x0A, 0xFF]))
        #expect(try WireValueCodec.decode([1, 2], as: .bytea, format: 1, parameter: 1) == .blob([1, 2]))
        #expect(try WireValueCodec.decode(Array("héllo".utf8), as: .varchar, format: 1, parameter: 1) == .text("héllo"))
    }

    /// numeric_send's layout: 12345.678 is digits 1, 2345, 6780 with weight 1 and dscale 3.
    @Test func binaryNumericInBase10000() throws {
        let bytes = WireValueCodec.binaryNumeric("12345.678")
        #expect(bytes == [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C])
        #expect(WireValueCodec.numericText(binary: bytes) == "12345.678")
        for text in ["0", "-1", "0.0001", "-0.05", "10000", "123456789012.5", "0.000012"] {
            #expect(WireValueCodec.numericText(binary: WireValueCodec.binaryNumeric(text)) == text, "\(text)")
        }
        #expect(try WireValueCodec.decode(WireValueCodec.binaryNumeric("-7"), as: .numeric, format: 1, parameter: 1) == .integer(-7))
    }

    @Test func timestampsAreMicrosecondsSince2000() throws {
        #expect(WireValueCodec.timestampMicroseconds("2000-01-01 00:00:00") == 0)
        #expect(WireValueCodec.timestampMicroseconds("2000-01-02 00:00:01.5") == 86_401_500_000)
        #expect(WireValueCodec.timestampMicroseconds("1999-12-31 23:59:59") == -1_000_000)
        #expect(WireValueCodec.timestampText(-1_000_000) == "1999-12-31 23:59:59")
        #expect(WireValueCodec.timestampText(WireValueCodec.timestampMicroseconds("2024-02-29 12:34:56.123456")!) == "2024-02-29 12:34:56.123456")
        let binary = WireValueCodec.encode(.text("2021-06-01 08:00:00"), as: .timestamp, format: 1)!
        #expect(try WireValueCodec.decode(binary, as: .timestamp, format: 1, parameter: 1) == .text("2021-06-01 08:00:00"))
    }

    @Test func columnTypesAreInferredFromTheFirstNonNullValue() {
        let rows: [[SQLiteValue]] = [[.null, .null, .text("a"), .null], [.integer(1), .real(2), .null, .blob([1])]]
        #expect((0..<4).map { WireValueCodec.inferType(column: $0, rows: rows) } == [.int8, .float8, .text, .bytea])
        #expect(WireValueCodec.inferType(column: 0, rows: [[.null]]) == .text)
    }

    @Test func splitterKeepsQuotedSemicolons() {
        let pieces = StatementSplitter.split("SELECT ';'; SELECT $$a;b$$ /* ; */; SELECT E'\\';'; -- ;\n")
        #expect(pieces.map(\.text) == ["SELECT ';'", " SELECT $$a;b$$ /* ; */", " SELECT E'\\';'"])
        #expect(pieces.map(\.characterOffset) == [0, 11, 35])
        #expect(StatementSplitter.split("SELECT $1; SELECT $2").count == 2)
    }
}
