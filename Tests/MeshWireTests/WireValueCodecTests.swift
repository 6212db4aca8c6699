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
        #expect(try WireValueCodec.encode(.integer(-2), as: .int4, format: 1) == [0xFF, 0xFF, 0xFF, 0xFE])
        #expect(try WireValueCodec.encode(.integer(258), as: .int2, format: 1) == [1, 2])
        #expect(try WireValueCodec.encode(.real(1.0), as: .float8, format: 0) == Array("1".utf8))
        #expect(try WireValueCodec.encode(.real(0.1), as: .float8, format: 0) == Array("0.1".utf8))
        #expect(try WireValueCodec.encode(.null, as: .int8, format: 1) == nil)
        for type in [WireType.int2, .int4, .int8] {
            let bytes = try WireValueCodec.encode(.integer(-300), as: type, format: 1)!
            #expect(try WireValueCodec.decode(bytes, as: type, format: 1, parameter: 1) == .integer(-300))
        }
        let float = try WireValueCodec.encode(.real(2.5), as: .float4, format: 1)!
        #expect(try WireValueCodec.decode(float, as: .float4, format: 1, parameter: 1) == .real(2.5))
        #expect(try WireValueCodec.decode(Array(" 42 ".utf8), as: .int4, format: 0, parameter: 1) == .integer(42))
        #expect(throws: SQLError.self) { try WireValueCodec.decode([1, 2, 3], as: .int4, format: 1, parameter: 1) }
    }

    @Test func boolTextAndBytea() throws {
        #expect(try WireValueCodec.encode(.integer(1), as: .bool, format: 0) == Array("t".utf8))
        #expect(try WireValueCodec.encode(.integer(0), as: .bool, format: 1) == [0])
        #expect(try WireValueCodec.decode(Array("true".utf8), as: .bool, format: 0, parameter: 1) == .integer(1))
        #expect(try WireValueCodec.encode(.blob([0x0A, 0xFF]), as: .bytea, format: 0) == Array("\\x0aff".utf8))
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
        #expect(WireValueCodec.instant("2000-01-01 00:00:00") == .micros(0, offsetSeconds: nil))
        #expect(WireValueCodec.instant("2000-01-02 00:00:01.5") == .micros(86_401_500_000, offsetSeconds: nil))
        #expect(WireValueCodec.instant("1999-12-31 23:59:59") == .micros(-1_000_000, offsetSeconds: nil))
        #expect(WireValueCodec.timestampText(-1_000_000) == "1999-12-31 23:59:59")
        guard case .micros(let leap, _)? = WireValueCodec.instant("2024-02-29 12:34:56.123456") else {
            Issue.record("2024-02-29 12:34:56.123456 did not parse")
            return
        }
        #expect(WireValueCodec.timestampText(leap) == "2024-02-29 12:34:56.123456")
        let binary = try WireValueCodec.encode(.text("2021-06-01 08:00:00"), as: .timestamp, format: 1)!
        #expect(try WireValueCodec.decode(binary, as: .timestamp, format: 1, parameter: 1) == .text("2021-06-01 08:00:00"))
    }

    /// The offsets PostgreSQL writes and reads after a time, and what is not one.
    @Test func instantsReadUTCOffsets() {
        #expect(WireValueCodec.instant("2026-11-22 09:28:39+00") == .micros(848_654_919_000_000, offsetSeconds: 0))
        #expect(WireValueCodec.instant("2026-11-22T09:28:39Z") == .micros(848_654_919_000_000, offsetSeconds: 0))
        #expect(WireValueCodec.instant("2026-11-22 09:28:39.5+05:30") == .micros(848_654_919_500_000, offsetSeconds: 19_800))
        #expect(WireValueCodec.instant("2026-11-22 09:28:39-0800") == .micros(848_654_919_000_000, offsetSeconds: -28_800))
        #expect(WireValueCodec.instant("2026-11-22 09:28:39+01:02:03") == .micros(848_654_919_000_000, offsetSeconds: 3_723))
        #expect(WireValueCodec.instant("-infinity") == .minusInfinity)
        for bad in ["2026-11-22+01", "2026-11-22 09:28:39+1", "2026-11-22 09:28:39+0130:00", "2026-11-22 09:28:39 UTC",
                    "2026-11-22 09:28:39.1234567", "2026-11-22 09-28-39", "2026-13-01", "soon"] {
            #expect(WireValueCodec.instant(bad) == nil, "\(bad)")
        }
    }

    /// Regression: oid, date and timestamptz went out in binary as their text bytes (psycopg read
    /// `select 1::oid` as 822083584, asyncpg `select current_date` as a year out of range).
    @Test func oidDateAndTimestamptzHaveTheirBinaryForms() throws {
        #expect(try WireValueCodec.encode(.integer(1), as: .oidType, format: 1) == [0, 0, 0, 1])
        #expect(try WireValueCodec.encode(.integer(4_294_967_295), as: .regclass, format: 1) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try WireValueCodec.encode(.text("2026-11-22"), as: .date, format: 1) == WireValueCodec.bigEndian(Int32(9_822)))
        #expect(try WireValueCodec.encode(.text("1999-12-31"), as: .date, format: 1) == WireValueCodec.bigEndian(Int32(-1)))
        #expect(try WireValueCodec.encode(.text("infinity"), as: .date, format: 1) == WireValueCodec.bigEndian(Int32.max))
        // A timestamptz without an offset is UTC; one with an offset is moved to UTC.
        #expect(try WireValueCodec.encode(.text("2026-11-22 09:28:39"), as: .timestamptz, format: 1)
            == WireValueCodec.bigEndian(Int64(848_654_919_000_000)))
        #expect(try WireValueCodec.encode(.text("2026-11-22 09:28:39.5+05:30"), as: .timestamptz, format: 1)
            == WireValueCodec.bigEndian(Int64(848_635_119_500_000)))
        // A timestamp ignores a written offset, as PostgreSQL's input does.
        #expect(try WireValueCodec.encode(.text("2026-11-22 09:28:39+05:30"), as: .timestamp, format: 1)
            == WireValueCodec.bigEndian(Int64(848_654_919_000_000)))
        // Text stays text.
        #expect(try WireValueCodec.encode(.text("2026-11-22"), as: .date, format: 0) == Array("2026-11-22".utf8))
        // And the binary forms read back, for parameters and the shell.
        #expect(try WireValueCodec.decode([0, 0, 0, 1], as: .oidType, format: 1, parameter: 1) == .integer(1))
        #expect(try WireValueCodec.decode(WireValueCodec.bigEndian(Int32(9_822)), as: .date, format: 1, parameter: 1) == .text("2026-11-22"))
        #expect(try WireValueCodec.decode(WireValueCodec.bigEndian(Int64(848_635_119_500_000)), as: .timestamptz, format: 1, parameter: 1)
            == .text("2026-11-22 03:58:39.5+00"))
        #expect(try WireValueCodec.decode(WireValueCodec.bigEndian(Int64.max), as: .timestamp, format: 1, parameter: 1) == .text("infinity"))
    }

    /// Never text bytes labelled binary: a type without a binary form, or a value that is not one
    /// of its type, is refused with PostgreSQL's SQLSTATE.
    @Test func binaryRefusesWhatItCannotEncode() {
        func state(_ value: SQLiteValue, _ type: WireType) -> String? {
            do {
                _ = try WireValueCodec.encode(value, as: type, format: 1)
                return nil
            } catch {
                return error.state.code
            }
        }
        #expect(state(.text("09:28:39"), WireType(oid: 1083)) == "42883")  // time
        #expect(state(.text("{a,b}"), WireType(oid: 1009)) == "42883")  // text[]
        #expect(state(.text("x"), WireType(oid: 99_999)) == "42883")
        #expect(state(.text("soon"), .timestamp) == "22007")
        #expect(state(.text("soon"), .timestamptz) == "22007")
        #expect(state(.text("22/11/2026"), .date) == "22007")
        #expect(state(.text("pg_class"), .regclass) == "22P02")
        #expect(state(.integer(-1 << 40), .oidType) == "22P02")
        #expect(state(.null, WireType(oid: 1083)) == nil)
        #expect(WireType(oid: 1083).name == "time", "named as PostgreSQL names it in the error")
    }

    /// A faulty client's binary date or timestamp beyond PostgreSQL's range is refused, not trapped
    /// on overflow while printed.
    @Test func binaryDatesAndTimestampsOutOfRangeAreRefused() {
        for micros in [Int64.min + 1, Int64.max - 1, -211_813_488_000_000_001] {
            #expect(throws: SQLError.self) { try WireValueCodec.decode(WireValueCodec.bigEndian(micros), as: .timestamp, format: 1, parameter: 1) }
        }
        #expect(throws: SQLError.self) { try WireValueCodec.decode(WireValueCodec.bigEndian(Int32.max - 1), as: .date, format: 1, parameter: 1) }
        #expect(throws: SQLError.self) { try WireValueCodec.decode(WireValueCodec.bigEndian(Int32.min + 1), as: .date, format: 1, parameter: 1) }
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
